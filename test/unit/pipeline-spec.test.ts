import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ROW_HASH_COLUMN,
  SpecError,
  describeSource,
  featureColumnsOf,
  labelColumnUse,
  labelIsText,
  modelNameOf,
  parsePipelineSpec,
  parsePipelineSpecText,
  rowIdColumn,
  ROW_NUMBER_COLUMN,
  postgresSourceOf,
  resolveSourcePath,
} from '../../lib/spec/pipeline-spec';

const demoPath = path.join(__dirname, '..', '..', 'examples', 'flights.json');
/** The flights spec these tests break field by field: a fixed copy, so the demo's spec may change. */
const examplePath = path.join(__dirname, 'fixtures', 'flights-spec.json');
const exampleText = readFileSync(examplePath, 'utf8');

/** A fresh, mutable copy of the fixed flights spec as plain JSON. */
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
  test("parses the demo's examples/flights.json", () => {
    const spec = parsePipelineSpecText(readFileSync(demoPath, 'utf8'), demoPath);
    expect(spec.features.map((f) => f.name)).toEqual(['distance', 'origin', 'destination', 'hour', 'day_of_week', 'day_of_year']);
    expect(spec.model).toMatchObject({ type: 'mlp', hidden: [64, 32], parallelism: { workers: 2, roundsPerEpoch: 1, share: 'rows' } });
  });

  test('parses a flights spec and keeps its values', () => {
    const spec = parsePipelineSpecText(exampleText, examplePath);
    expect(spec.name).toBe('flights');
    expect(spec.source).toEqual({ kind: 'postgres', table: 'flights', key: 'id', partitions: 4 });
    expect(spec.label).toEqual({ column: 'delay', greaterThan: 15 });
    expect(spec.features.map((f) => [f.kind, f.name, featureColumnsOf(f)[0]])).toEqual([
      ['numeric', 'distance', 'distance'],
      ['categorical', 'origin', 'origin'],
      ['categorical', 'destination', 'destination'],
      ['hourOfDay', 'hour', 'date'],
      ['dayOfWeek', 'day_of_week', 'date'],
    ]);
    expect(spec.split).toEqual({ testFraction: 0.2, seed: 42 });
    expect(spec.model).toMatchObject({ type: 'mlp', hidden: [32], epochs: 2, batchSize: 4096, learningRate: 0.005, seed: 7 });
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
    expect(postgresSourceOf(spec).limit).toBeUndefined();
    expect(spec.features[0]).toEqual({ kind: 'categorical', name: 'c', column: 'c', topK: 100 });
    expect(spec.split).toEqual({ testFraction: 0.2, seed: 42 });
    expect(spec.model).toEqual({
      type: 'mlp',
      activation: 'relu',
      l2: 0,
      epochs: 2,
      batchSize: 4096,
      learningRate: 0.01,
      parallelism: { workers: 2, roundsPerEpoch: 1, share: 'rows' },
      checkpointEveryBatches: 200,
      seed: 7,
    });
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

  test('a bad model section names the field and what is allowed', () => {
    const problemsOfModel = (model: Record<string, unknown>): string[] => {
      const value = example();
      value.model = { ...value.model, ...model };
      return specErrorOf(() => parsePipelineSpec(value)).problems;
    };
    expect(problemsOfModel({ layers: [{ units: 8, activation: 'swish' }], hidden: undefined })[0]).toMatch(
      /^model\.layers\[0\]\.activation: must be one of relu, elu, selu, tanh, sigmoid, softplus, linear/,
    );
    expect(problemsOfModel({ layers: [{ units: 8, kind: 'conv2d' }], hidden: undefined })[0]).toMatch(/^model\.layers\[0\]: unknown field "kind"/);
    expect(problemsOfModel({ layers: [{ units: 8 }] })).toEqual(['model.layers: give model.hidden (widths) or model.layers, not both']);
    expect(problemsOfModel({ type: 'logistic' })).toEqual(['model.hidden: a logistic model has no hidden layers; use type "mlp" or drop them']);
    expect(problemsOfModel({ embeddingDim: 8 })).toEqual(['model.embeddingDim: embeddingDim is for type "wideDeep"']);
    expect(problemsOfModel({ learningRateSchedule: { kind: 'warmup' } })[0]).toMatch(/^model\.learningRateSchedule/);
    expect(problemsOfModel({ parallelism: { workers: 0 } })[0]).toMatch(/^model\.parallelism\.workers: /);
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
    expect(postgresSourceOf(spec).query).toBe('SELECT * FROM flights WHERE distance > 100');
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
      'label: give label.greaterThan (a threshold) or label.oneOf (the positive values) for a binary label, label.classes for a multiclass one, ' +
        'or "task": "regression" to predict the column\'s value',
    ]);
    expect(problemsOf((v) => (v.label = { column: 'weather', oneOf: [] }))[0]).toMatch(/^label.oneOf: /);
  });

  test('a feature may not read the columns pipewright names a row identity', () => {
    for (const column of [ROW_HASH_COLUMN, ROW_NUMBER_COLUMN]) {
      expect(problemsOf((v) => v.features.push({ kind: 'numeric', name: 'h', column }))).toEqual([
        `features[5].column: "${column}" is the name pipewright gives a row's identity; rename the column in the source`,
      ]);
    }
  });
});

describe('feature kinds', () => {
  /** The problems of the example spec with these features instead of its own. */
  function problemsWith(...features: unknown[]): string[] {
    const value = example();
    value.features = features;
    return specErrorOf(() => parsePipelineSpec(value)).problems;
  }

  function parseWith(...features: unknown[]): ReturnType<typeof parsePipelineSpec>['features'] {
    const value = example();
    value.features = features;
    return parsePipelineSpec(value).features;
  }

  test('the flights features parse exactly as before: no option appears unless written', () => {
    expect(parsePipelineSpecText(exampleText).features).toEqual([
      { kind: 'numeric', name: 'distance', column: 'distance' },
      { kind: 'categorical', name: 'origin', column: 'origin', topK: 100 },
      { kind: 'categorical', name: 'destination', column: 'destination', topK: 100 },
      { kind: 'hourOfDay', name: 'hour', column: 'date' },
      { kind: 'dayOfWeek', name: 'day_of_week', column: 'date' },
    ]);
  });

  test('every new kind and option parses, with its defaults', () => {
    expect(
      parseWith(
        { kind: 'numeric', name: 'a', column: 'a', impute: 'median', clip: { min: 0, max: 10 }, log1p: true, scale: 'minMax' },
        { kind: 'numeric', name: 'b', column: 'b', impute: { constant: -0.5 }, scale: 'none' },
        { kind: 'categorical', name: 'c', column: 'c', minCount: 5 },
        { kind: 'quantileBuckets', name: 'q', column: 'q', buckets: 10 },
        { kind: 'hashed', name: 'h', column: 'tail', buckets: 1000 },
        { kind: 'cross', name: 'x', columns: ['c', 'tail', 'origin'], buckets: 500 },
        { kind: 'timestamp', name: 't', column: 'date', parts: ['month', 'dayOfMonth'] },
        { kind: 'timestamp', name: 'tc', column: 'date', parts: ['hour', 'weekday'], cyclical: true },
      ),
    ).toEqual([
      { kind: 'numeric', name: 'a', column: 'a', impute: 'median', clip: { min: 0, max: 10 }, log1p: true, scale: 'minMax' },
      { kind: 'numeric', name: 'b', column: 'b', impute: { constant: -0.5 }, scale: 'none' },
      { kind: 'categorical', name: 'c', column: 'c', topK: 100, minCount: 5 },
      { kind: 'quantileBuckets', name: 'q', column: 'q', buckets: 10 },
      { kind: 'hashed', name: 'h', column: 'tail', buckets: 1000 },
      { kind: 'cross', name: 'x', columns: ['c', 'tail', 'origin'], buckets: 500 },
      { kind: 'timestamp', name: 't', column: 'date', parts: ['month', 'dayOfMonth'], cyclical: false },
      { kind: 'timestamp', name: 'tc', column: 'date', parts: ['hour', 'weekday'], cyclical: true },
    ]);
    expect(featureColumnsOf(parseWith({ kind: 'cross', name: 'x', columns: ['a', 'b'], buckets: 9 })[0]!)).toEqual(['a', 'b']);
  });

  test('numeric options: each mistake names its field and what is allowed', () => {
    const numeric = (extra: object): object => ({ kind: 'numeric', name: 'n', column: 'n', ...extra });
    expect(problemsWith(numeric({ impute: 'average' }))).toEqual(['features[0].impute: must be "mean", "median", "mostFrequent" or {"constant": <number>}']);
    expect(problemsWith(numeric({ impute: { constant: 'zero' } }))).toEqual([
      'features[0].impute: must be "mean", "median", "mostFrequent" or {"constant": <number>}',
    ]);
    expect(problemsWith(numeric({ scale: 'zscore' }))[0]).toMatch(/^features\[0\]\.scale: .*"standard"\|"minMax"\|"none"/);
    expect(problemsWith(numeric({ log1p: 'yes' }))[0]).toMatch(/^features\[0\]\.log1p: .*expected boolean/);
    expect(problemsWith(numeric({ clip: {} }))).toEqual(['features[0].clip: give clip.min, clip.max or both (or drop clip)']);
    expect(problemsWith(numeric({ clip: { min: 5, max: 1 } }))).toEqual(['features[0].clip: clip.min must not be greater than clip.max']);
    expect(problemsWith(numeric({ clip: { minimum: 0 } }))[0]).toMatch(/^features\[0\]\.clip: unknown field "minimum"/);
  });

  test('log1p with a clip or constant that lets values at or below -1 through is refused', () => {
    const numeric = (extra: object): object => ({ kind: 'numeric', name: 'n', column: 'n', log1p: true, ...extra });
    expect(problemsWith(numeric({ clip: { min: -1 } }))).toEqual([
      'features[0].clip.min: log1p needs values greater than -1: raise clip.min above -1 (e.g. 0) or drop log1p',
    ]);
    expect(problemsWith(numeric({ impute: { constant: -3 } }))).toEqual([
      'features[0].impute.constant: log1p needs values greater than -1: impute a constant above -1 (e.g. 0) or drop log1p',
    ]);
    // A clip that lifts the constant above -1 makes it fine; without log1p anything goes.
    expect(parseWith(numeric({ impute: { constant: -3 }, clip: { min: 0 } }))).toHaveLength(1);
    expect(parseWith({ kind: 'numeric', name: 'n', column: 'n', impute: { constant: -3 }, clip: { min: -5 } })).toHaveLength(1);
  });

  test('bucket counts are bounded and required', () => {
    expect(problemsWith({ kind: 'quantileBuckets', name: 'q', column: 'a', buckets: 1 })).toEqual(['features[0].buckets: buckets must be at least 2']);
    expect(problemsWith({ kind: 'quantileBuckets', name: 'q', column: 'a', buckets: 1001 })).toEqual(['features[0].buckets: buckets must be at most 1000']);
    expect(problemsWith({ kind: 'quantileBuckets', name: 'q', column: 'a' })[0]).toMatch(/^features\[0\]\.buckets: .*expected number/);
    expect(problemsWith({ kind: 'hashed', name: 'h', column: 'a', buckets: 100001 })).toEqual(['features[0].buckets: buckets must be at most 100000']);
    expect(problemsWith({ kind: 'hashed', name: 'h', column: 'a', buckets: 2.5 })[0]).toMatch(/^features\[0\]\.buckets: .*expected int/);
    expect(problemsWith({ kind: 'categorical', name: 'c', column: 'c', minCount: 0 })[0]).toMatch(/^features\[0\]\.minCount: /);
  });

  test('a cross takes 2 to 8 distinct columns, in "columns"', () => {
    expect(problemsWith({ kind: 'cross', name: 'x', columns: ['a'], buckets: 10 })).toEqual(['features[0].columns: a cross needs at least 2 columns']);
    expect(problemsWith({ kind: 'cross', name: 'x', columns: ['a', 'b', 'a'], buckets: 10 })).toEqual([
      'features[0].columns: column "a" is listed twice; a cross combines different columns',
    ]);
    expect(problemsWith({ kind: 'cross', name: 'x', column: 'a', columns: ['a', 'b'], buckets: 10 })[0]).toMatch(/^features\[0\]: unknown field "column"/);
    expect(problemsWith({ kind: 'cross', name: 'x', columns: ['a', 'b c'], buckets: 10 })).toEqual([
      'features[0].columns[1]: must be a plain SQL identifier (letters, digits, underscore)',
    ]);
  });

  test('a cross column is checked for label leakage and the row hash like any feature column', () => {
    expect(problemsWith({ kind: 'cross', name: 'x', columns: ['origin', 'delay'], buckets: 10 })).toEqual([
      'features[0].columns[1]: feature "x" reads the label column "delay" (label leakage); drop it or pick another column',
    ]);
    const hashProblems = problemsWith({ kind: 'cross', name: 'x', columns: [ROW_HASH_COLUMN, 'origin'], buckets: 10 });
    expect(hashProblems).toHaveLength(1);
    expect(hashProblems[0]).toMatch(/^features\[0\]\.columns\[0\]: "__row_hash" is the name pipewright gives /);
  });

  test('timestamp parts: at least one, each once, from the four', () => {
    expect(problemsWith({ kind: 'timestamp', name: 't', column: 'date', parts: [] })).toEqual([
      'features[0].parts: name at least one part: hour, weekday, month, dayOfMonth',
    ]);
    expect(problemsWith({ kind: 'timestamp', name: 't', column: 'date', parts: ['hour', 'hour'] })).toEqual(['features[0].parts: part "hour" is listed twice']);
    expect(problemsWith({ kind: 'timestamp', name: 't', column: 'date', parts: ['minute'] })[0]).toMatch(
      /^features\[0\]\.parts\[0\]: .*"hour"\|"weekday"\|"month"\|"dayOfMonth"/,
    );
    expect(problemsWith({ kind: 'timestamp', name: 't', column: 'date', parts: ['hour'], cyclical: 1 })[0]).toMatch(/^features\[0\]\.cyclical: /);
  });

  test('a column is read one way by every feature that reads it', () => {
    expect(problemsWith({ kind: 'categorical', name: 'o', column: 'origin' }, { kind: 'numeric', name: 'n', column: 'origin' })).toEqual([
      'features[1].column: column "origin" is read as a number here (numeric) but as text by features[0] (categorical); a column is read one way: read a copy of it under another name (e.g. aliased in a source.query)',
    ]);
    expect(
      problemsWith({ kind: 'timestamp', name: 't', column: 'date', parts: ['hour'] }, { kind: 'cross', name: 'x', columns: ['origin', 'date'], buckets: 4 }),
    ).toEqual([
      'features[1].columns[1]: column "date" is read as text here (cross) but as a timestamp by features[0] (timestamp); a column is read one way: read a copy of it under another name (e.g. aliased in a source.query)',
    ]);
    // Same way, many features: fine.
    expect(
      parseWith(
        { kind: 'categorical', name: 'o', column: 'origin' },
        { kind: 'hashed', name: 'h', column: 'origin', buckets: 8 },
        { kind: 'cross', name: 'x', columns: ['origin', 'destination'], buckets: 8 },
      ),
    ).toHaveLength(3);
  });

  test('when one feature imputes a column, its NULLs must be handled by every feature of that column', () => {
    expect(
      problemsWith({ kind: 'numeric', name: 'a', column: 'distance', impute: 'mean' }, { kind: 'numeric', name: 'b', column: 'distance', log1p: true }),
    ).toEqual([
      'features[1].impute: column "distance" keeps its NULLs because features[0] imputes them, so this feature must impute too: add "impute" (e.g. "median")',
    ]);
    expect(
      problemsWith(
        { kind: 'quantileBuckets', name: 'q', column: 'distance', buckets: 4 },
        { kind: 'numeric', name: 'a', column: 'distance', impute: 'median' },
      ),
    ).toEqual([
      'features[0].column: column "distance" keeps its NULLs because features[1] imputes them, and quantileBuckets has no place for a NULL; bucket a copy without NULLs (e.g. COALESCE in a source.query)',
    ]);
    expect(
      parseWith(
        { kind: 'numeric', name: 'a', column: 'distance', impute: 'mean' },
        { kind: 'numeric', name: 'b', column: 'distance', impute: { constant: 0 } },
      ),
    ).toHaveLength(2);
  });

  test('examples/transforms.json parses', () => {
    const file = path.join(__dirname, '..', '..', 'examples', 'transforms.json');
    const spec = parsePipelineSpecText(readFileSync(file, 'utf8'), file);
    expect(new Set(spec.features.map((f) => f.kind))).toEqual(new Set(['numeric', 'categorical', 'quantileBuckets', 'hashed', 'cross', 'timestamp']));
  });
});

describe('file sources', () => {
  const withSource = (source: Record<string, unknown>): unknown => ({ ...example(), source });

  test('csv and parquet sources with their defaults; rows are identified by file and row number without a key', () => {
    const csv = parsePipelineSpec(withSource({ kind: 'csv', path: 'data/trips-*.csv' }));
    expect(csv.source).toEqual({ kind: 'csv', path: 'data/trips-*.csv', partitions: 4, delimiter: ',' });
    expect(rowIdColumn(csv.source)).toBe(ROW_NUMBER_COLUMN);
    expect(describeSource(csv.source)).toBe('data/trips-*.csv');
    const parquet = parsePipelineSpec(withSource({ kind: 'parquet', path: 'events.parquet', key: 'event_id', partitions: 8 }));
    expect(parquet.source).toEqual({ kind: 'parquet', path: 'events.parquet', key: 'event_id', partitions: 8 });
    expect(rowIdColumn(parquet.source)).toBe('event_id');
  });

  test('csv options are checked: one-character delimiter, known types; parquet takes no csv options', () => {
    const problems = (source: Record<string, unknown>): string[] => specErrorOf(() => parsePipelineSpec(withSource(source))).problems;
    expect(problems({ kind: 'csv', path: 'a.csv', delimiter: ';;' })).toEqual(['source.delimiter: must be one character, e.g. "," or ";" (a tab is "\\t")']);
    expect(problems({ kind: 'csv', path: 'a.csv', types: { zip: 'varchar(5)' } })[0]).toMatch(/^source.types.zip: /);
    expect(problems({ kind: 'parquet', path: 'a.parquet', delimiter: ',' })).toEqual(['source: unknown field "delimiter"; remove it or check its spelling']);
    expect(problems({ kind: 'csv', path: '' })[0]).toMatch(/^source.path: /);
    expect(problems({ kind: 'excel', path: 'a.xlsx' })[0]).toMatch(/^source.kind: /);
  });

  test("a relative path is read against the spec file's folder; absolute paths and tables are left alone", () => {
    const relative = parsePipelineSpec(withSource({ kind: 'csv', path: 'data/*.csv' }));
    expect(resolveSourcePath(relative, '/specs/trips').source).toMatchObject({ path: '/specs/trips/data/*.csv' });
    const absolute = parsePipelineSpec(withSource({ kind: 'parquet', path: '/lake/events.parquet' }));
    expect(resolveSourcePath(absolute, '/specs')).toBe(absolute);
    const table = parsePipelineSpec(example());
    expect(resolveSourcePath(table, '/specs')).toBe(table);
  });

  test('postgresSourceOf refuses a file source by name', () => {
    expect(() => postgresSourceOf(parsePipelineSpec(withSource({ kind: 'csv', path: 'a.csv' })))).toThrow(
      'spec "flights" reads a csv file, not a PostgreSQL table',
    );
  });
});

describe('split', () => {
  const withSplit = (split: Record<string, unknown>): unknown => ({ ...example(), split });

  test('validation, stratify and time are optional; the plain split is as before', () => {
    expect(parsePipelineSpec(example()).split).toEqual({ testFraction: 0.2, seed: 42 });
    expect(parsePipelineSpec(withSplit({ testFraction: 0.1, validationFraction: 0.1, stratify: true })).split).toEqual({
      testFraction: 0.1,
      validationFraction: 0.1,
      stratify: true,
      seed: 42,
    });
    expect(parsePipelineSpec(withSplit({ timeColumn: 'date' })).split).toEqual({ testFraction: 0.2, seed: 42, timeColumn: 'date' });
  });

  test('fractions must leave rows to train on; a time split cannot be stratified', () => {
    const problems = (split: Record<string, unknown>): string[] => specErrorOf(() => parsePipelineSpec(withSplit(split))).problems;
    expect(problems({ testFraction: 0.6, validationFraction: 0.4 })).toEqual([
      'split.validationFraction: testFraction + validationFraction must leave rows to train on (sum below 1)',
    ]);
    expect(problems({ stratify: true, timeColumn: 'date' })).toEqual([
      'split.stratify: a time split takes the latest rows whatever their label; drop stratify or timeColumn',
    ]);
    expect(problems({ timeColumn: 'date; drop' })).toEqual(['split.timeColumn: must be a plain SQL identifier (letters, digits, underscore)']);
  });
});

describe('label tasks', () => {
  function labelOf(label: unknown): unknown {
    return parsePipelineSpec({ ...example(), label }).label;
  }
  function problemsOf(label: unknown, split?: unknown): string[] {
    return specErrorOf(() => parsePipelineSpec({ ...example(), label, ...(split ? { split } : {}) })).problems;
  }

  test('a binary label is stored as before, with or without "task": "binary"', () => {
    expect(labelOf({ column: 'delay', greaterThan: 15, task: 'binary' })).toEqual({ column: 'delay', greaterThan: 15 });
    expect(labelOf({ column: 'weather', oneOf: ['rain'], task: 'binary' })).toEqual({ column: 'weather', oneOf: ['rain'] });
  });

  test('multiclass: listed classes keep their order; "auto" gets maxClasses 100 unless given', () => {
    expect(labelOf({ column: 'status', classes: ['late', 'early', 'on_time'] })).toEqual({
      column: 'status',
      task: 'multiclass',
      classes: ['late', 'early', 'on_time'],
    });
    expect(labelOf({ column: 'grade', classes: [3, 1, 2], task: 'multiclass' })).toEqual({ column: 'grade', task: 'multiclass', classes: [3, 1, 2] });
    expect(labelOf({ column: 'status', classes: 'auto' })).toEqual({ column: 'status', task: 'multiclass', classes: 'auto', maxClasses: 100 });
    expect(labelOf({ column: 'status', classes: 'auto', maxClasses: 7 })).toEqual({ column: 'status', task: 'multiclass', classes: 'auto', maxClasses: 7 });
  });

  test('regression: the column itself', () => {
    expect(labelOf({ column: 'delay', task: 'regression' })).toEqual({ column: 'delay', task: 'regression' });
  });

  test('the task must agree with the other fields', () => {
    expect(problemsOf({ column: 'delay', greaterThan: 15, task: 'regression' })).toEqual([
      'label.task: a regression label predicts the value of the column itself; drop label.greaterThan (or choose another task)',
    ]);
    expect(problemsOf({ column: 'delay', classes: 'auto', task: 'regression' })).toEqual([
      'label.task: a regression label predicts the value of the column itself; drop label.classes (or choose another task)',
    ]);
    expect(problemsOf({ column: 'weather', oneOf: ['rain'], task: 'multiclass' })).toEqual([
      'label.task: label.oneOf makes a binary label, but label.task says "multiclass": give label.classes instead, or drop label.task',
    ]);
    expect(problemsOf({ column: 'weather', classes: ['rain', 'sun'], task: 'binary' })).toEqual([
      'label.task: label.classes makes a multiclass label, but label.task says "binary": give label.greaterThan or label.oneOf instead, or drop label.task',
    ]);
    expect(problemsOf({ column: 'weather', task: 'multiclass' })).toEqual([
      'label.classes: a multiclass label takes label.classes: the class values (e.g. ["early", "on_time", "late"]) or "auto" (the values of the train split)',
    ]);
    expect(problemsOf({ column: 'weather', task: 'binary' })).toEqual([
      'label: a binary label takes label.greaterThan (a threshold) or label.oneOf (the positive values)',
    ]);
    expect(problemsOf({ column: 'weather', oneOf: ['rain'], classes: ['rain', 'sun'] })).toEqual([
      'label: give label.greaterThan or label.oneOf (a binary label) or label.classes (a multiclass label), not both',
    ]);
    expect(problemsOf({ column: 'weather', task: 'ordinal' })).toEqual(['label.task: must be "binary", "multiclass" or "regression"']);
  });

  test('listed classes: one kind, at least two, each once; maxClasses only with "auto", within bounds', () => {
    expect(problemsOf({ column: 'x', classes: ['a', 1] })).toEqual(['label.classes: all strings (a text column) or all numbers (a numeric column), not both']);
    expect(problemsOf({ column: 'x', classes: ['a'] })).toEqual([
      'label.classes: a multiclass label needs at least 2 classes (one class is no prediction; two can also be a binary label)',
    ]);
    expect(problemsOf({ column: 'x', classes: ['a', 'b', 'a'] })).toEqual(['label.classes: class "a" is listed twice']);
    expect(problemsOf({ column: 'x', classes: ['a', 'b'], maxClasses: 5 })).toEqual([
      'label.maxClasses: label.maxClasses caps the classes that "classes": "auto" finds; set classes to "auto" or drop maxClasses',
    ]);
    expect(problemsOf({ column: 'x', classes: 'auto', maxClasses: 1 })).toEqual(['label.maxClasses: maxClasses must be at least 2']);
    expect(problemsOf({ column: 'x', classes: 'auto', maxClasses: 5000 })).toEqual(['label.maxClasses: maxClasses must be at most 1000']);
    expect(problemsOf({ column: 'x', classes: 'some' })[0]).toMatch(/^label.classes: must be "auto" \(the values found in the train split\) or a list/);
  });

  test('a regression label cannot be stratified', () => {
    expect(problemsOf({ column: 'delay', task: 'regression' }, { stratify: true })).toEqual([
      'split.stratify: a stratified split keeps each label class in the same proportions, and a regression label has no classes; drop split.stratify',
    ]);
    expect(parsePipelineSpec({ ...example(), label: { column: 'status', classes: 'auto' }, split: { stratify: true } }).split.stratify).toBe(true);
  });

  test('how ingest reads the label column', () => {
    const use = (label: unknown): string => labelColumnUse(parsePipelineSpec({ ...example(), label }).label);
    expect(use({ column: 'delay', greaterThan: 1 })).toBe('number');
    expect(use({ column: 'w', oneOf: ['a'] })).toBe('text');
    expect(use({ column: 'w', classes: ['a', 'b'] })).toBe('text');
    expect(use({ column: 'g', classes: [1, 2] })).toBe('number');
    expect(use({ column: 'g', classes: 'auto' })).toBe('asStored');
    expect(use({ column: 'delay', task: 'regression' })).toBe('number');
  });

  test('the label column may not be a feature, whatever the task', () => {
    expect(problemsOf({ column: 'distance', task: 'regression' })).toEqual([
      'features[0].column: feature "distance" reads the label column "distance" (label leakage); drop it or pick another column',
    ]);
  });

  test('the example specs of the other tasks parse', () => {
    for (const [file, task] of [
      ['flights-multiclass.json', 'multiclass'],
      ['flights-delay-regression.json', 'regression'],
    ] as const) {
      const text = readFileSync(path.join(__dirname, '..', '..', 'examples', file), 'utf8');
      const spec = parsePipelineSpecText(text, file);
      expect('task' in spec.label && spec.label.task).toBe(task);
    }
  });

  test('the wide-and-deep example parses with its training options', () => {
    const text = readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights-wide-deep.json'), 'utf8');
    const spec = parsePipelineSpecText(text, 'flights-wide-deep.json');
    expect(spec.model).toMatchObject({
      type: 'wideDeep',
      learningRateSchedule: { kind: 'cosine', minFraction: 0.1 },
      earlyStopping: { patience: 1, minDelta: 0.0005, restoreBest: true },
      parallelism: { workers: 2, roundsPerEpoch: 2, share: 'rows' },
    });
  });
});
