import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ROW_HASH_COLUMN,
  SpecError,
  describeSource,
  labelIsText,
  modelNameOf,
  parsePipelineSpec,
  parsePipelineSpecText,
  rowIdColumn,
} from '../../lib/spec/pipeline-spec';

const examplePath = path.join(__dirname, '..', '..', 'examples', 'flights.json');
const exampleText = readFileSync(examplePath, 'utf8');

/** A fresh, mutable copy of the example spec as plain JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests break the spec on purpose, field by field
function example(): any {
  return JSON.parse(exampleText);
}

/** Runs the parser and returns the SpecError it throws (failing the test if it does not throw one). */
function specErrorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return err as SpecError;
  }
  throw new Error('expected a SpecError, but parsing succeeded');
}

describe('parsePipelineSpec', () => {
  test('parses examples/flights.json and keeps its values', () => {
    const spec = parsePipelineSpecText(exampleText, examplePath);
    expect(spec.name).toBe('flights');
    expect(spec.source).toEqual({ kind: 'postgres', table: 'flights', key: 'id', partitions: 4 });
    expect(spec.label).toEqual({ column: 'delay', greaterThan: 15 });
    expect(spec.features.map((f) => [f.kind, f.name, f.column])).toEqual([
      ['numeric', 'distance', 'distance'],
      ['categorical', 'origin', 'origin'],
      ['categorical', 'destination', 'destination'],
      ['hourOfDay', 'hour', 'date'],
      ['dayOfWeek', 'day_of_week', 'date'],
    ]);
    expect(spec.split).toEqual({ testFraction: 0.2, seed: 42 });
    expect(spec.model).toEqual({ type: 'mlp', hidden: [32], epochs: 2, batchSize: 4096, learningRate: 0.005, seed: 7 });
  });

  test('fills in defaults for omitted optional sections', () => {
    const spec = parsePipelineSpecText(exampleText, examplePath);
    // flights.json has no quarantine section and no model.name.
    expect(spec.quarantine).toEqual({ maxBadRowFraction: 0.01 });
    expect(spec.model.name).toBeUndefined();
    expect(modelNameOf(spec)).toBe('flights');
  });

  test('fills in every documented default of a minimal spec', () => {
    const spec = parsePipelineSpec({
      name: 'minimal',
      source: { kind: 'postgres', table: 't', key: 'id' },
      label: { column: 'y', greaterThan: 0 },
      features: [{ kind: 'categorical', name: 'c', column: 'c' }],
      model: {},
    });
    expect(spec.source.partitions).toBe(4);
    expect(spec.source.limit).toBeUndefined();
    expect(spec.features[0]).toEqual({ kind: 'categorical', name: 'c', column: 'c', topK: 100 });
    expect(spec.split).toEqual({ testFraction: 0.2, seed: 42 });
    expect(spec.model).toEqual({ type: 'mlp', hidden: [32], epochs: 2, batchSize: 4096, learningRate: 0.01, seed: 7 });
    expect(spec.quarantine).toEqual({ maxBadRowFraction: 0.01 });
  });

  test('model.name overrides the pipeline name as the model name', () => {
    const value = example();
    value.model.name = 'delay_model';
    expect(modelNameOf(parsePipelineSpec(value))).toBe('delay_model');
  });

  test('reports a misspelt field with its path', () => {
    const value = example();
    value.model.epocs = value.model.epochs;
    delete value.model.epochs;
    const err = specErrorOf(() => parsePipelineSpec(value, 'spec.json'));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^model: unknown field "epocs"/);
    expect(err.origin).toBe('spec.json');
    expect(err.message).toContain('spec.json');
    expect(err.message).toContain('model: unknown field "epocs"');
  });

  test('reports an unknown field inside an array element with its index', () => {
    const value = example();
    value.features[1].topk = 5;
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^features\[1\]: unknown field "topk"/);
  });

  test('reports an unknown top-level field', () => {
    const value = example();
    value.lable = value.label;
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^\(top level\): unknown field "lable"/);
  });

  test('reports a wrong enum value at its path', () => {
    const value = example();
    value.model.type = 'transformer';
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.startsWith('model.type: ')).toBe(true);
    // The message should tell the user what is allowed.
    expect(err.problems[0]).toContain('logistic');
    expect(err.problems[0]).toContain('mlp');
  });

  test('reports an unknown feature kind at its path', () => {
    const value = example();
    value.features[2].kind = 'embedding';
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems.some((p) => p.startsWith('features[2].kind: '))).toBe(true);
  });

  test('rejects a name that is not a plain SQL identifier', () => {
    const value = example();
    value.source.table = 'flights; DROP TABLE x';
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toEqual(['source.table: must be a plain SQL identifier (letters, digits, underscore)']);
  });

  test('rejects out-of-range numbers', () => {
    const value = example();
    value.split.testFraction = 1;
    value.source.partitions = 0;
    const err = specErrorOf(() => parsePipelineSpec(value));
    const paths = err.problems.map((p) => p.slice(0, p.indexOf(':')));
    expect(paths.sort()).toEqual(['source.partitions', 'split.testFraction']);
  });

  test('reports duplicate feature names', () => {
    const value = example();
    value.features.push({ kind: 'numeric', name: 'distance', column: 'air_time' });
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toEqual(['features[5].name: duplicate feature name "distance"']);
  });

  test('reports label leakage: a feature that reads the label column', () => {
    const value = example();
    value.features.push({ kind: 'numeric', name: 'delay_feature', column: 'delay' });
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^features\[5\]\.column: feature "delay_feature" reads the label column "delay" \(label leakage\)/);
  });

  test('two features may read the same column under different names', () => {
    // flights.json itself does this (hour and day_of_week both read "date"); make it explicit.
    const value = example();
    value.features.push({ kind: 'numeric', name: 'distance_again', column: 'distance' });
    expect(parsePipelineSpec(value).features).toHaveLength(6);
  });

  test('lists every problem, not just the first', () => {
    const value = example();
    value.model.epocs = 3;
    value.model.type = 'forest';
    value.source.partitions = 1000;
    value.label.greaterThan = 'fifteen';
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toHaveLength(4);
    const paths = err.problems.map((p) => p.slice(0, p.indexOf(':'))).sort();
    expect(paths).toEqual(['label.greaterThan', 'model', 'model.type', 'source.partitions']);
    // The message carries one bullet per problem.
    for (const problem of err.problems) expect(err.message).toContain(`  - ${problem}`);
    expect(err.message.split('\n')).toHaveLength(1 + 4);
  });

  test('lists duplicate names and leakage together', () => {
    const value = example();
    value.features.push({ kind: 'numeric', name: 'origin', column: 'delay' });
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toEqual([
      'features[5].name: duplicate feature name "origin"',
      expect.stringMatching(/^features\[5\]\.column: feature "origin" reads the label column "delay"/),
    ]);
  });

  test('lists a misspelt field together with duplicate-name and leakage problems', () => {
    const value = example();
    value.model.epocs = 1;
    value.features.push({ kind: 'numeric', name: 'origin', column: 'delay' });
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toEqual([
      expect.stringMatching(/^model: unknown field "epocs"/),
      'features[5].name: duplicate feature name "origin"',
      expect.stringMatching(/^features\[5\]\.column: feature "origin" reads the label column "delay"/),
    ]);
  });

  test('reports missing required sections', () => {
    const value = example();
    delete value.label;
    delete value.features;
    const err = specErrorOf(() => parsePipelineSpec(value));
    const paths = err.problems.map((p) => p.slice(0, p.indexOf(':'))).sort();
    expect(paths).toEqual(['features', 'label']);
  });

  test('rejects an empty feature list', () => {
    const value = example();
    value.features = [];
    const err = specErrorOf(() => parsePipelineSpec(value));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.startsWith('features: ')).toBe(true);
  });

  test('rejects a value that is not an object', () => {
    const err = specErrorOf(() => parsePipelineSpec([1, 2, 3], 'x.json'));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.startsWith('(top level): ')).toBe(true);
  });
});

describe('parsePipelineSpecText', () => {
  test('reports invalid JSON as a spec error naming the origin', () => {
    const err = specErrorOf(() => parsePipelineSpecText('{"name": "flights",', 'broken.json'));
    expect(err.name).toBe('SpecError');
    expect(err.origin).toBe('broken.json');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^not valid JSON: /);
    expect(err.message).toContain('broken.json');
  });

  test('validates JSON text after parsing it', () => {
    const value = example();
    value.source.kind = 'mysql';
    const err = specErrorOf(() => parsePipelineSpecText(JSON.stringify(value), 'text.json'));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.startsWith('source.kind: ')).toBe(true);
  });

  test('defaults the origin to (inline)', () => {
    const err = specErrorOf(() => parsePipelineSpecText('not json'));
    expect(err.origin).toBe('(inline)');
    expect(err.message.startsWith('Invalid pipeline spec (inline):')).toBe(true);
  });
});

describe('sources and labels', () => {
  function problemsOf(change: (value: ReturnType<typeof example>) => void): string[] {
    const value = example();
    change(value);
    return specErrorOf(() => parsePipelineSpec(value)).problems;
  }

  test('a table without a key is allowed (split by blocks) and its rows are identified by the row hash', () => {
    const value = example();
    delete value.source.key;
    const spec = parsePipelineSpec(value);
    expect(spec.source.key).toBeUndefined();
    expect(rowIdColumn(spec.source)).toBe(ROW_HASH_COLUMN);
    expect(rowIdColumn(parsePipelineSpec(example()).source)).toBe('id');
  });

  test('a query source, trimmed of one trailing semicolon, described by its first words', () => {
    const value = example();
    value.source = { kind: 'postgres', query: '  SELECT * FROM flights WHERE distance > 100;\n', key: 'id' };
    const spec = parsePipelineSpec(value);
    expect(spec.source.query).toBe('SELECT * FROM flights WHERE distance > 100');
    expect(describeSource(spec.source)).toBe('query "SELECT * FROM flights WHERE distance > 100"');
  });

  test('exactly one of table and query', () => {
    expect(problemsOf((v) => (v.source.query = 'SELECT 1'))).toEqual(['source.table: give exactly one of source.table or source.query']);
    expect(problemsOf((v) => delete v.source.table)).toEqual(['source.table: give exactly one of source.table or source.query']);
  });

  test('a query with statements after a semicolon is refused', () => {
    const problems = problemsOf((v) => (v.source = { kind: 'postgres', query: 'SELECT * FROM t; DROP TABLE t', key: 'id' }));
    expect(problems).toEqual(['source.query: must be a single SELECT statement without ";" (remove the semicolons)']);
  });

  test('a query needs a key or a hash column to be split, and limit needs a key', () => {
    expect(problemsOf((v) => (v.source = { kind: 'postgres', query: 'SELECT * FROM t' }))).toEqual([
      'source.query: a query is split by source.key (an integer column of its result) or source.hashColumn; set one, or set partitions to 1',
    ]);
    expect(parsePipelineSpec({ ...example(), source: { kind: 'postgres', query: 'SELECT * FROM t', partitions: 1 } }).source.partitions).toBe(1);
    expect(problemsOf((v) => (v.source = { kind: 'postgres', table: 't', limit: 10 }))).toEqual([
      'source.limit: source.limit takes the first rows by source.key; name the key column',
    ]);
    expect(problemsOf((v) => (v.source.hashColumn = 'origin'))).toEqual(['source.hashColumn: give source.key or source.hashColumn, not both']);
  });

  test('an identifier with quotes or semicolons is refused wherever it appears', () => {
    for (const bad of ['id"; --', "o'hare", 'a b', '1st']) {
      expect(problemsOf((v) => (v.source.key = bad))).toEqual(['source.key: must be a plain SQL identifier (letters, digits, underscore)']);
      expect(problemsOf((v) => (v.label.column = bad))).toEqual(['label.column: must be a plain SQL identifier (letters, digits, underscore)']);
    }
  });

  test('label oneOf: strings or numbers, never both, never together with greaterThan', () => {
    const value = example();
    value.label = { column: 'weather', oneOf: ['rain', 'snow'] };
    expect(parsePipelineSpec(value).label).toEqual({ column: 'weather', oneOf: ['rain', 'snow'] });
    expect(labelIsText(parsePipelineSpec(value).label)).toBe(true);
    value.label = { column: 'grade', oneOf: [1, 2] };
    expect(labelIsText(parsePipelineSpec(value).label)).toBe(false);
    expect(problemsOf((v) => (v.label = { column: 'weather', oneOf: ['rain', 1] }))).toEqual([
      'label.oneOf: all strings (a text column) or all numbers (a numeric column), not both',
    ]);
    expect(problemsOf((v) => (v.label = { column: 'weather', oneOf: ['rain'], greaterThan: 1 }))).toEqual([
      'label: give exactly one of label.greaterThan (a threshold) or label.oneOf (the positive values)',
    ]);
    expect(problemsOf((v) => (v.label = { column: 'weather' }))).toEqual([
      'label: give exactly one of label.greaterThan (a threshold) or label.oneOf (the positive values)',
    ]);
    expect(problemsOf((v) => (v.label = { column: 'weather', oneOf: [] }))[0]).toMatch(/^label.oneOf: /);
  });

  test('a feature may not read the row hash column', () => {
    expect(problemsOf((v) => v.features.push({ kind: 'numeric', name: 'h', column: ROW_HASH_COLUMN }))).toEqual([
      `features[5].column: "${ROW_HASH_COLUMN}" is the name pipewright gives the row hash; alias the column in a source.query`,
    ]);
  });
});
