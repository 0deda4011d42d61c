import { Float64, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { PipelineInputError } from '../../lib/errors';
import { computeBatchStatistics, type DatasetStatistics, type StatisticsColumn, type StatisticsOptions } from '../../lib/statistics/dataset-stats';
import { DEFAULT_VALIDATION_CHECKS, checkSeverity, validationChecksSchema } from '../../lib/validation/checks';
import { inferSchema, parseDataSchema, SCHEMA_FORMAT, schemaColumn, statisticsColumnsFor, type DataSchema } from '../../lib/validation/schema';

type ColumnData = { kind: 'number' | 'timestamp'; values: Array<number | null> } | { kind: 'text'; values: Array<string | null> };

function tableOf(columns: Record<string, ColumnData>): Table {
  const vectors: Record<string, Vector> = {};
  for (const [name, c] of Object.entries(columns))
    vectors[name] = c.kind === 'text' ? vectorFromArray(c.values, new Utf8()) : vectorFromArray(c.values, new Float64());
  return new Table(vectors);
}

function statsOf(columns: Record<string, ColumnData>, options: StatisticsOptions = {}, statisticsColumns?: StatisticsColumn[]): DatasetStatistics {
  return computeBatchStatistics(tableOf(columns), statisticsColumns ?? Object.entries(columns).map(([name, c]) => ({ name, kind: c.kind })), options);
}

const T0 = Date.UTC(2024, 5, 1);
const amount = [3.5, -2, null, 10, 7.25, NaN, 0, 4, null, 1];
const when = [T0, T0 + 1000, T0 + 5000, T0 + 2000, T0, T0, T0 + 3000, T0 + 4000, T0 + 1000, T0 + 6000];
const carrier = ['AA', 'UA', 'AA', 'DL', 'AA', 'UA', 'AA', 'AA', 'DL', 'UA'];
const reference = (): DatasetStatistics =>
  statsOf({
    amount: { kind: 'number', values: amount },
    when: { kind: 'timestamp', values: when },
    carrier: { kind: 'text', values: carrier },
    empty: { kind: 'number', values: new Array<number | null>(10).fill(null) },
  });

describe('inferSchema', () => {
  test('a schema from crafted data, every field by brute force', () => {
    const schema = inferSchema(reference());
    expect(schema.format).toBe(SCHEMA_FORMAT);
    expect(schema.rows).toBe(10);
    expect(schema.columns.map((c) => [c.name, c.kind])).toEqual([
      ['amount', 'number'],
      ['when', 'timestamp'],
      ['carrier', 'text'],
      ['empty', 'number'],
    ]);
    const finite = amount.filter((v): v is number => v !== null && Number.isFinite(v));
    // 8 of 10 present (NaN counts as present: it is a value, not a null); below 1, so presence − 0.05.
    expect(schemaColumn(schema, 'amount')).toEqual({
      name: 'amount',
      kind: 'number',
      minPresence: 0.8 - 0.05,
      domain: { min: Math.min(...finite), max: Math.max(...finite) },
      nanSeen: true,
      infiniteSeen: false,
      observed: { presence: 0.8, min: -2, max: 10 },
    });
    expect(schemaColumn(schema, 'when')).toEqual({
      name: 'when',
      kind: 'timestamp',
      minPresence: 1,
      domain: { min: T0, max: T0 + 6000 },
      nanSeen: false,
      infiniteSeen: false,
      observed: { presence: 1, min: T0, max: T0 + 6000 },
    });
    // AA 5, UA 3, DL 2 of 10, most frequent first.
    expect(schemaColumn(schema, 'carrier')).toEqual({
      name: 'carrier',
      kind: 'text',
      minPresence: 1,
      vocabulary: [
        { value: 'AA', count: 5, fraction: 0.5 },
        { value: 'UA', count: 3, fraction: 0.3 },
        { value: 'DL', count: 2, fraction: 0.2 },
      ],
      observed: { presence: 1, distinct: 3 },
    });
    const empty = schemaColumn(schema, 'empty');
    expect(empty).toMatchObject({ kind: 'number', domain: null, minPresence: 0, observed: { presence: 0, min: null, max: null } });
  });

  test('options: a widened domain, a presence slack, a vocabulary limit', () => {
    const schema = inferSchema(reference(), { domainMargin: 0.1, presenceSlack: 0.5, maxVocabulary: 2 });
    // Range 12 → pad 1.2 each side.
    const domain = (schemaColumn(schema, 'amount') as { domain: { min: number; max: number } }).domain;
    expect(domain.min).toBeCloseTo(-3.2, 12);
    expect(domain.max).toBeCloseTo(11.2, 12);
    expect(schemaColumn(schema, 'amount')!.minPresence).toBeCloseTo(0.3, 12);
    expect(schemaColumn(schema, 'carrier')).toMatchObject({ vocabulary: null, observed: { distinct: 3 } });
  });

  test('a text column past the statistics top-K cap has no vocabulary (its values are not all known)', () => {
    const stats = statsOf({ c: { kind: 'text', values: ['a', 'b', 'c', 'a'] } }, { topKCap: 2 });
    expect(schemaColumn(inferSchema(stats), 'c')).toMatchObject({ kind: 'text', vocabulary: null });
  });

  test('statisticsColumnsFor gives number columns the domain as fixed-histogram edges', () => {
    const schema = inferSchema(reference());
    expect(statisticsColumnsFor(schema)).toEqual([
      { name: 'amount', kind: 'number', histogramEdges: [-2, 10] },
      { name: 'when', kind: 'timestamp', histogramEdges: [T0, T0 + 6000] },
      { name: 'carrier', kind: 'text' },
      { name: 'empty', kind: 'number' },
    ]);
  });
});

describe('schema JSON', () => {
  test('round trip: written as JSON, parsed back equal', () => {
    const schema = inferSchema(reference(), { domainMargin: 0.25 });
    const text = JSON.stringify(schema);
    const back = parseDataSchema(JSON.parse(text));
    expect(back).toEqual(schema);
    expect(JSON.stringify(back)).toBe(text);
  });

  test('a hand-edited schema that broke is rejected with the path and the fix', () => {
    const schema: DataSchema = inferSchema(reference());
    const broken = (edit: (s: Record<string, unknown>) => void): unknown => {
      const copy = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
      edit(copy);
      return copy;
    };
    const columns = (s: Record<string, unknown>) => s.columns as Array<Record<string, unknown>>;
    expect(() => parseDataSchema(broken((s) => (s.format = 'pipewright.schema/v2')))).toThrow(PipelineInputError);
    expect(() => parseDataSchema(broken((s) => (columns(s)[0]!.domian = { min: 0, max: 1 })))).toThrow(/\n {2}- columns\[0\]: unknown field "domian"/);
    expect(() => parseDataSchema(broken((s) => (columns(s)[0]!.domain = { min: 2, max: 1 })))).toThrow(/domain.min must not exceed domain.max/);
    expect(() => parseDataSchema(broken((s) => (columns(s)[1]!.name = 'amount')))).toThrow(/column "amount" is listed twice/);
    expect(() => parseDataSchema(broken((s) => (columns(s)[0]!.minPresence = 1.5)))).toThrow(/columns\[0\]\.minPresence/);
    expect(() =>
      parseDataSchema(
        broken((s) => (columns(s)[2]!.kind = 'string')),
        'schema.json',
      ),
    ).toThrow(/Invalid data schema schema.json/);
  });
});

describe('validation checks config', () => {
  test('defaults, as the spec section documents them', () => {
    expect(validationChecksSchema.parse({})).toEqual({
      missingColumn: 'error',
      newColumn: 'warn',
      typeChange: 'error',
      nonFinite: 'error',
      outOfDomain: { severity: 'warn', maxFraction: 0 },
      unseenCategories: { severity: 'warn', maxMass: 0.01 },
      lowPresence: 'warn',
      datasetSize: { severity: 'warn', maxRelativeChange: 0.5 },
      drift: { severity: 'warn', categorical: 0.1, numeric: 0.1, numericBins: 20 },
      columns: {},
    });
    expect(DEFAULT_VALIDATION_CHECKS).toEqual(validationChecksSchema.parse({}));
  });

  test('a partial section keeps the other defaults, nested ones included', () => {
    const checks = validationChecksSchema.parse({ drift: { numeric: 0.2 }, newColumn: 'off' });
    expect(checks.drift).toEqual({ severity: 'warn', categorical: 0.1, numeric: 0.2, numericBins: 20 });
    expect(checks.newColumn).toBe('off');
    expect(checks.outOfDomain).toEqual({ severity: 'warn', maxFraction: 0 });
  });

  test('strict: unknown or misspelt keys are errors, at every level', () => {
    expect(validationChecksSchema.safeParse({ missingColum: 'error' }).success).toBe(false);
    expect(validationChecksSchema.safeParse({ drift: { treshold: 0.2 } }).success).toBe(false);
    expect(validationChecksSchema.safeParse({ columns: { x: { driftTreshold: 0.2 } } }).success).toBe(false);
    expect(validationChecksSchema.safeParse({ newColumn: 'warning' }).success).toBe(false);
    expect(validationChecksSchema.safeParse({ unseenCategories: { maxMass: 1.5 } }).success).toBe(false);
    expect(validationChecksSchema.safeParse({ columns: { x: { driftThreshold: 0.2, drift: 'error' } } }).success).toBe(true);
  });

  test('a column override wins over the check, for that column only', () => {
    const checks = validationChecksSchema.parse({ outOfDomain: { severity: 'error' }, columns: { a: { outOfDomain: 'off' } } });
    expect(checkSeverity(checks, 'out_of_domain', 'a')).toBe('off');
    expect(checkSeverity(checks, 'out_of_domain', 'b')).toBe('error');
    // A column named like an Object.prototype member is an ordinary name.
    expect(checkSeverity(checks, 'out_of_domain', 'constructor')).toBe('error');
  });
});
