import { Float64, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { PipelineInputError } from '../../lib/errors';
import { computeBatchStatistics, type DatasetStatistics, type NumericColumnState, type StatisticsColumn } from '../../lib/statistics/dataset-stats';
import { validateAgainstSchema, countOutOfDomain, type Anomaly } from '../../lib/validation/anomalies';
import { CHECK_IDS, validationChecksSchema, type CheckId, type ValidationChecksInput } from '../../lib/validation/checks';
import { inferSchema, statisticsColumnsFor, type DataSchema } from '../../lib/validation/schema';
import { assertValidationPassed, buildValidationReport, formatValidationReport } from '../../lib/validation/validation-report';

type ColumnData = { kind: 'number' | 'timestamp'; values: Array<number | null> } | { kind: 'text'; values: Array<string | null> };
type Columns = Record<string, ColumnData>;

function statsOf(columns: Columns, statisticsColumns?: StatisticsColumn[]): DatasetStatistics {
  const vectors: Record<string, Vector> = {};
  for (const [name, c] of Object.entries(columns))
    vectors[name] = c.kind === 'text' ? vectorFromArray(c.values, new Utf8()) : vectorFromArray(c.values, new Float64());
  return computeBatchStatistics(new Table(vectors), statisticsColumns ?? Object.entries(columns).map(([name, c]) => ({ name, kind: c.kind })));
}

const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const CARRIERS = ['AA', 'UA', 'DL', 'AA'];

/**
 * n rows: amount in [0, 99.5], when in [T0, T0 + 199 min], carrier AA/UA/DL, note with every tenth
 * row null. `flip` reverses the row order of the generated values (different data, same domain).
 */
function dataset(n = 200, flip = false): Columns {
  const at = (i: number) => (flip ? n - 1 - i : i) % 200;
  return {
    amount: { kind: 'number', values: Array.from({ length: n }, (_, i) => at(i) / 2) },
    when: { kind: 'timestamp', values: Array.from({ length: n }, (_, i) => T0 + at(i) * MINUTE) },
    carrier: { kind: 'text', values: Array.from({ length: n }, (_, i) => CARRIERS[at(i) % 4]!) },
    note: { kind: 'text', values: Array.from({ length: n }, (_, i) => (at(i) % 10 === 0 ? null : `n${at(i) % 3}`)) },
  };
}

const schema: DataSchema = inferSchema(statsOf(dataset()));
const checks = (input: ValidationChecksInput = {}) => validationChecksSchema.parse(input);
const summary = (anomalies: Anomaly[]) => anomalies.map((a) => [a.check, a.column ?? null, a.severity]);

describe('validateAgainstSchema', () => {
  test('a clean dataset (other rows, same domain and categories) has no anomalies', () => {
    expect(validateAgainstSchema(schema, statsOf(dataset(200, true)), checks())).toEqual([]);
    expect(validateAgainstSchema(schema, statsOf(dataset(180)), checks())).toEqual([]);
  });

  test('missing_column: in the schema, not in the data (error)', () => {
    const data = dataset();
    delete data.note;
    const anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    expect(summary(anomalies)).toEqual([['missing_column', 'note', 'error']]);
    expect(anomalies[0]!.message).toMatch(/Column "note" \(text\) is in the schema but not in the data/);
    expect(anomalies[0]!.message).toContain(`validation.columns["note"].missingColumn to 'off'`);
  });

  test('new_column: in the data, not in the schema (warning)', () => {
    const data = { ...dataset(), extra: { kind: 'number' as const, values: new Array<number>(200).fill(1) } };
    const anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    expect(summary(anomalies)).toEqual([['new_column', 'extra', 'warning']]);
    expect(anomalies[0]!.message).toContain('Column "extra" (number) is in the data but not in the schema');
  });

  test("type_change: a column's kind changed (error), and its other checks are skipped", () => {
    const data = { ...dataset(), amount: { kind: 'text' as const, values: new Array<string | null>(200).fill(null) } };
    const anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    // All-null text would also be low presence and unseen categories; only the type change is reported.
    expect(summary(anomalies)).toEqual([['type_change', 'amount', 'error']]);
    expect(anomalies[0]!.message).toContain('Column "amount" is text in the data but number in the schema');
  });

  test('non_finite: NaN and infinities in a feature (error), elsewhere a warning only when new', () => {
    const data = dataset();
    const values = data.amount!.values as number[];
    values[3] = NaN;
    values[50] = NaN;
    values[60] = NaN;
    values[7] = Infinity;
    values[8] = -Infinity;
    const stats = statsOf(data);
    const [anomaly, ...rest] = validateAgainstSchema(schema, stats, checks());
    expect(rest).toEqual([]);
    expect(summary([anomaly!])).toEqual([['non_finite', 'amount', 'error']]);
    // 5 of 200 non-null values.
    expect(anomaly!.value).toBeCloseTo(5 / 200, 12);
    expect(anomaly!.threshold).toBe(0);
    expect(anomaly!.message).toContain('holds 3 NaN and 2 infinite values (2.5% of its 200 non-null values)');

    expect(summary(validateAgainstSchema(schema, stats, checks(), { featureColumns: ['when'] }))).toEqual([['non_finite', 'amount', 'warning']]);
    // A schema that had seen both accepts them outside the features, not in them.
    const seen = inferSchema(stats);
    expect(validateAgainstSchema(seen, stats, checks(), { featureColumns: ['when'] })).toEqual([]);
    expect(summary(validateAgainstSchema(seen, stats, checks(), { featureColumns: ['amount'] }))).toEqual([['non_finite', 'amount', 'error']]);
  });

  test('out_of_domain: values outside [min, max], counted from the sketch where they are clearly outside', () => {
    const data = dataset();
    const values = data.amount!.values as number[];
    const outside = [150, 151, 152, 153, 154, 155, 156, -10, -11, -12];
    outside.forEach((v, i) => (values[20 * i] = v));
    const expected = values.filter((v) => v < 0 || v > 99.5).length;
    expect(expected).toBe(10);
    const anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    expect(summary(anomalies)).toEqual([['out_of_domain', 'amount', 'warning']]);
    // Far outside, so the lower bounds are the brute-force counts; the upper bounds add at most the values the
    // sketch cannot place: those within its 1% of a bound (brute force, with a margin for the bucket's width).
    const count = countOutOfDomain(statsOf(data).columns.amount as NumericColumnState, { min: 0, max: 99.5 });
    expect([count.below, count.above]).toEqual([values.filter((v) => v < 0).length, values.filter((v) => v > 99.5).length]);
    const near = (bound: number) => values.filter((v) => Math.abs(v - bound) <= 0.021 * Math.abs(bound)).length;
    expect(count.belowMax).toBeLessThanOrEqual(count.below + near(0));
    expect(count.aboveMax).toBeGreaterThanOrEqual(count.above);
    expect(count.aboveMax).toBeLessThanOrEqual(count.above + near(99.5));
    expect(anomalies[0]!.value).toBeCloseTo(expected / 200, 12);
    expect(anomalies[0]!.threshold).toBe(0);
    expect(anomalies[0]!.message).toContain(`Column "amount": 10 to ${count.belowMax + count.aboveMax} of 200 finite values (5%; 3 below, 7 above)`);
    expect(anomalies[0]!.message).toContain("outside the schema's domain [0, 99.5]");
    expect(anomalies[0]!.message).toContain('this data spans [-12, 156]');
    // Under the allowed fraction: nothing.
    expect(validateAgainstSchema(schema, statsOf(data), checks({ outOfDomain: { maxFraction: 0.05 } }))).toEqual([]);
  });

  test('out_of_domain: exact with the schema edges as a fixed histogram, even right next to a bound', () => {
    const data = dataset();
    const values = data.amount!.values as number[];
    // Within the sketch's 1% of the bounds: the sketch alone cannot place them.
    values[1] = 99.6;
    values[2] = 99.7;
    values[3] = -0.001;
    values[4] = 99.5; // on the bound: inside
    const expected = values.filter((v) => v < 0 || v > 99.5).length;
    const withEdges = statsOf(data, statisticsColumnsFor(schema));
    const count = countOutOfDomain(withEdges.columns.amount as NumericColumnState, { min: 0, max: 99.5 });
    expect(count).toEqual({ below: 1, above: 2, belowMax: 1, aboveMax: 2, exact: true });
    expect(count.below + count.above).toBe(expected);
    const anomalies = validateAgainstSchema(schema, withEdges, checks());
    expect(summary(anomalies)).toEqual([['out_of_domain', 'amount', 'warning']]);
    expect(anomalies[0]!.value).toBeCloseTo(expected / 200, 12);
    expect(anomalies[0]!.message).toMatch(/^Column "amount": 3 of 200 finite values \(1\.5%; 1 below, 2 above\) lie outside/);
    // Without the edges: bounds around the truth, and never 0 on a side whose exact min or max is outside.
    const estimate = countOutOfDomain(statsOf(data).columns.amount as NumericColumnState, { min: 0, max: 99.5 });
    expect(estimate.exact).toBe(false);
    expect(estimate.below).toBeGreaterThanOrEqual(1);
    expect(estimate.below).toBeLessThanOrEqual(1);
    expect(estimate.belowMax).toBeGreaterThanOrEqual(1);
    expect(estimate.above).toBeGreaterThanOrEqual(1);
    expect(estimate.above).toBeLessThanOrEqual(2);
    expect(estimate.aboveMax).toBeGreaterThanOrEqual(2);
  });

  test('out_of_domain on a timestamp column', () => {
    const data = dataset();
    const values = data.when!.values as number[];
    values[0] = T0 + 300 * MINUTE;
    values[1] = T0 + 400 * MINUTE;
    const anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    expect(summary(anomalies)).toEqual([['out_of_domain', 'when', 'warning']]);
    expect(anomalies[0]!.value).toBeCloseTo(2 / 200, 12);
    expect(anomalies[0]!.message).toContain('[2024-01-01T00:00:00.000Z, 2024-01-01T03:19:00.000Z]');
  });

  test('unseen_categories: new values above 1% of the column are reported', () => {
    const data = dataset();
    const values = data.carrier!.values as string[];
    for (let i = 0; i < 10; i++) values[20 * i + 1] = i < 7 ? 'WN' : 'B6';
    const anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    expect(summary(anomalies)).toEqual([['unseen_categories', 'carrier', 'warning']]);
    expect(anomalies[0]!.value).toBeCloseTo(10 / 200, 12);
    expect(anomalies[0]!.threshold).toBe(0.01);
    expect(anomalies[0]!.message).toContain('5% of its 200 values are 2 categories the schema does not know, e.g. "WN" (7), "B6" (3)');
    // Per-column threshold above the mass: nothing.
    expect(validateAgainstSchema(schema, statsOf(data), checks({ columns: { carrier: { maxUnseenMass: 0.05 } } }))).toEqual([]);
    // One new row is 0.5%, under the default 1%.
    const few = dataset();
    (few.carrier!.values as string[])[5] = 'WN';
    expect(validateAgainstSchema(schema, statsOf(few), checks())).toEqual([]);
  });

  test('low_presence: under the schema minimum, or a per-column override', () => {
    const data = dataset();
    (data.carrier!.values as Array<string | null>)[0] = null;
    (data.carrier!.values as Array<string | null>)[1] = null;
    const notes = data.note!.values as Array<string | null>;
    for (let i = 0; i < 200; i += 20) notes[i + 1] = null;
    const presentNotes = notes.filter((v) => v !== null).length / 200;
    expect(presentNotes).toBeCloseTo(0.85, 12);
    // Reference: note 90% present → minimum 0.85; 0.85 is not under it. Carrier was always present → minimum 1.
    let anomalies = validateAgainstSchema(schema, statsOf(data), checks());
    expect(summary(anomalies)).toEqual([['low_presence', 'carrier', 'warning']]);
    expect(anomalies[0]!.value).toBeCloseTo(198 / 200, 12);
    expect(anomalies[0]!.threshold).toBe(1);
    expect(anomalies[0]!.message).toContain('has a value in 99% of rows (2 of 200 are null), under the minimum presence of 100%');
    notes[3] = null;
    anomalies = validateAgainstSchema(schema, statsOf(data), checks({ columns: { carrier: { minPresence: 0.99 } } }));
    expect(summary(anomalies)).toEqual([['low_presence', 'note', 'warning']]);
    expect(anomalies[0]!.value).toBeCloseTo(169 / 200, 12);
    expect(anomalies[0]!.threshold).toBeCloseTo(0.85, 12);
  });

  test('dataset_size: a change beyond ±50% of the reference, or of the previous dataset when given', () => {
    let anomalies = validateAgainstSchema(schema, statsOf(dataset(400)), checks());
    expect(summary(anomalies)).toEqual([['dataset_size', null, 'warning']]);
    expect(anomalies[0]!.value).toBe((400 - 200) / 200);
    expect(anomalies[0]!.threshold).toBe(0.5);
    expect(anomalies[0]!.message).toContain("The dataset has 400 rows, 100% more than the 200 of the schema's reference dataset (allowed change: ±50%)");
    expect(validateAgainstSchema(schema, statsOf(dataset(290)), checks())).toEqual([]);
    anomalies = validateAgainstSchema(schema, statsOf(dataset(80)), checks(), { previousRows: 200 });
    expect(anomalies[0]!.value).toBe((80 - 200) / 200);
    expect(anomalies[0]!.message).toContain('60% fewer than the 200 of the previous dataset');
    expect(validateAgainstSchema(schema, statsOf(dataset(80)), checks({ datasetSize: { maxRelativeChange: 0.7 } }))).toEqual([]);
  });

  test("severities: 'off' suppresses each check alone, 'error' raises one, a column override only its column", () => {
    // One dataset with an anomaly of every schema check.
    const data = dataset(400);
    delete data.note;
    const amount = data.amount!.values as number[];
    amount[0] = NaN;
    amount[1] = 500;
    const carrier = data.carrier!.values as Array<string | null>;
    for (let i = 0; i < 40; i++) carrier[10 * i] = i % 2 === 0 ? 'WN' : null;
    const all = {
      ...data,
      when: { kind: 'text' as const, values: new Array<string>(400).fill('x') },
      extra: { kind: 'text' as const, values: new Array<string>(400).fill('y') },
    };
    const stats = statsOf(all);
    const everything = validateAgainstSchema(schema, stats, checks());
    expect(summary(everything)).toEqual([
      ['dataset_size', null, 'warning'],
      ['non_finite', 'amount', 'error'],
      ['out_of_domain', 'amount', 'warning'],
      ['type_change', 'when', 'error'],
      ['low_presence', 'carrier', 'warning'],
      ['unseen_categories', 'carrier', 'warning'],
      ['missing_column', 'note', 'error'],
      ['new_column', 'extra', 'warning'],
    ]);
    const keyOf: Record<Exclude<CheckId, 'drift'>, ValidationChecksInput> = {
      missing_column: { missingColumn: 'off' },
      new_column: { newColumn: 'off' },
      type_change: { typeChange: 'off' },
      non_finite: { nonFinite: 'off' },
      out_of_domain: { outOfDomain: { severity: 'off' } },
      unseen_categories: { unseenCategories: { severity: 'off' } },
      low_presence: { lowPresence: 'off' },
      dataset_size: { datasetSize: { severity: 'off' } },
    };
    for (const id of CHECK_IDS.filter((c): c is Exclude<CheckId, 'drift'> => c !== 'drift')) {
      const remaining = validateAgainstSchema(schema, stats, checks(keyOf[id]));
      expect(summary(remaining)).toEqual(summary(everything.filter((a) => a.check !== id)));
    }
    const raised = validateAgainstSchema(schema, stats, checks({ unseenCategories: { severity: 'error' }, newColumn: 'error' }));
    expect(raised.filter((a) => a.severity === 'error').map((a) => a.check)).toEqual([
      'non_finite',
      'type_change',
      'unseen_categories',
      'missing_column',
      'new_column',
    ]);
    const oneColumn = validateAgainstSchema(
      schema,
      stats,
      checks({ columns: { amount: { nonFinite: 'off', outOfDomain: 'off' }, carrier: { outOfDomain: 'error' } } }),
    );
    expect(summary(oneColumn)).toEqual(summary(everything.filter((a) => a.column !== 'amount')));
  });
});

describe('validation report', () => {
  test('counts, drift and the printed report', () => {
    const previous = statsOf(dataset());
    const data = dataset();
    const carrier = data.carrier!.values as string[];
    for (let i = 0; i < 60; i++) carrier[i] = 'WN';
    (data.amount!.values as number[])[0] = NaN;
    const report = buildValidationReport({ schema, stats: statsOf(data), previous, checks: checks() });
    expect(report.format).toBe('pipewright.validation/v1');
    expect(report.rows).toBe(200);
    expect(report.previousRows).toBe(200);
    expect(summary(report.anomalies)).toEqual([
      ['non_finite', 'amount', 'error'],
      ['unseen_categories', 'carrier', 'warning'],
      ['drift', 'carrier', 'warning'],
    ]);
    expect([report.errors, report.warnings, report.passed]).toEqual([1, 2, false]);
    expect(report.drift.map((d) => d.column)).toEqual(['amount', 'when', 'carrier', 'note']);
    // Carrier: WN 0 → 0.3 is the largest change (AA/UA/DL each lose part of 0.3).
    const carrierDrift = report.drift.find((d) => d.column === 'carrier')!;
    expect(carrierDrift.distance).toBeCloseTo(60 / 200, 12);
    expect(report.drift.find((d) => d.column === 'when')!.distance).toBe(0);

    const text = formatValidationReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Data validation FAILED: 1 error, 2 warnings over 200 rows (schema: 200, previous: 200)');
    expect(lines[2]).toMatch(/^ {2}ERROR {4}amount {3}non_finite {9}Column "amount" holds 1 NaN value \(0\.5% of its 200 non-null values\)/);
    expect(lines[3]).toMatch(/^ {2}WARNING {2}carrier {2}unseen_categories {2}Column "carrier": 30% /);
    expect(lines[4]).toMatch(/^ {2}WARNING {2}carrier {2}drift {14}Column "carrier" drifted/);
    expect(lines).toContain('Drift since the previous dataset:');
    const table = lines.slice(lines.indexOf('Drift since the previous dataset:') + 1);
    expect(table).toHaveLength(5);
    expect(table[0]).toMatch(/^ {2}column +measure +distance +threshold +status +detail$/);
    expect(table[3]).toMatch(/^ {2}carrier +L-infinity +0\.3000 +0\.1000 +DRIFTED +largest change: "WN" 0% → 30%$/);
    expect(table[4]).toMatch(/^ {2}note +L-infinity +0\.0000 +0\.1000 +ok +same frequencies$/);
    expect(table[1]).toMatch(/^ {2}amount +Jensen-Shannon +\d\.\d{4} +0\.1000 +ok +20 bins; mean /);

    expect(() => assertValidationPassed(report)).toThrow(PipelineInputError);
    expect(() => assertValidationPassed(report)).toThrow(/Data validation failed with 1 error:\n {2}- \[non_finite amount\] Column "amount" holds 1 NaN/);
  });

  test('a clean run passes, and without a previous dataset says so', () => {
    const report = buildValidationReport({ schema, stats: statsOf(dataset(200, true)), checks: checks() });
    expect([report.errors, report.warnings, report.passed, report.drift, report.previousRows]).toEqual([0, 0, true, [], null]);
    expect(formatValidationReport(report)).toBe(
      'Data validation PASSED: 0 errors, 0 warnings over 200 rows (schema: 200)\n\nDrift: no previous dataset to compare with.',
    );
    expect(() => assertValidationPassed(report)).not.toThrow();
  });
});
