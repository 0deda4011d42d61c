import { Float64, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { TRANSFORM_V2, type FittedTransform } from '../../lib/features/transform-format';
import { checkDrift, DEFAULT_DRIFT_THRESHOLDS } from '../../lib/monitoring/drift-check';
import { checkLiveMetric, encodeFeedbackLabel } from '../../lib/monitoring/live-metric';
import { MonitorSpecError, parseMonitorSpec } from '../../lib/monitoring/monitor-spec';
import { verdictOf } from '../../lib/monitoring/monitor-report';
import { windowStatistics } from '../../lib/monitoring/window-statistics';
import { mulberry32 } from '../../lib/random';
import { computeBatchStatistics, type DatasetStatistics, type NumericColumnState, type TextColumnState } from '../../lib/statistics/dataset-stats';
import { DEFAULT_VALIDATION_CHECKS } from '../../lib/validation/checks';

// Rows like the flights table: a number, a text and a timestamp column, drawn from a seeded generator.
const ORIGINS: Array<[string, number]> = [
  ['ATL', 0.4],
  ['ORD', 0.3],
  ['DFW', 0.2],
  ['LAX', 0.1],
];
const START = Date.UTC(2001, 0, 1);

function pick(r: number, mix: Array<[string, number]>): string {
  let acc = 0;
  for (const [v, p] of mix) if (r < (acc += p)) return v;
  return mix[mix.length - 1]![0];
}

interface Row {
  distance: number | null;
  origin: string | null;
  date: number;
}

function rows(n: number, seed: number, opts: { distanceScale?: number; origins?: Array<[string, number]> } = {}): Row[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => ({
    distance: Math.round((100 + 1900 * random() * random()) * (opts.distanceScale ?? 1)),
    origin: pick(random(), opts.origins ?? ORIGINS),
    date: START + Math.floor(random() * 90 * 86_400) * 1000,
  }));
}

/** The training statistics as ingest builds them: from an Arrow table (key and label columns included). */
function trainingStatistics(data: Row[]): DatasetStatistics {
  const table = new Table({
    id: vectorFromArray(
      data.map((_, i) => i),
      new Float64(),
    ),
    distance: vectorFromArray(
      data.map((r) => r.distance),
      new Float64(),
    ),
    origin: vectorFromArray(
      data.map((r) => r.origin),
      new Utf8(),
    ),
    date: vectorFromArray(
      data.map((r) => r.date),
      new Float64(),
    ),
    delay: vectorFromArray(
      data.map(() => 0),
      new Float64(),
    ),
  });
  return computeBatchStatistics(table, [
    { name: 'distance', kind: 'number' },
    { name: 'origin', kind: 'text' },
    { name: 'date', kind: 'timestamp' },
    { name: 'delay', kind: 'number' },
  ]);
}

/** Logged features as a client sends them: the timestamp as ISO text without a zone, numbers as JSON numbers. */
const logged = (data: Row[]): Array<Record<string, unknown>> =>
  data.map((r) => ({ distance: r.distance, origin: r.origin, date: new Date(r.date).toISOString().slice(0, 19) }));

const reference = trainingStatistics(rows(20_000, 1));
const byColumn = (finding: ReturnType<typeof checkDrift>) => Object.fromEntries(finding.columns.map((c) => [c.column, c]));

describe('serving window statistics', () => {
  test('built like the training columns: counts, sketch settings and values match a batch built from the same rows', () => {
    const data = rows(1000, 2);
    const window = windowStatistics(reference, logged(data));
    // Only the columns the rows have (the key and the label are not logged), in the reference's order.
    expect(Object.keys(window.columns)).toEqual(['distance', 'origin', 'date']);
    expect(window.rows).toBe(1000);
    const distance = window.columns.distance as NumericColumnState;
    const direct = trainingStatistics(data).columns.distance as NumericColumnState;
    expect(distance.finite).toBe(1000);
    expect(distance.mean).toBeCloseTo(data.reduce((s, r) => s + r.distance!, 0) / 1000, 6);
    expect(distance.sketch).toEqual(direct.sketch);
    const origin = window.columns.origin as TextColumnState;
    expect(origin.cap).toBe((reference.columns.origin as TextColumnState).cap);
    expect(Object.fromEntries(origin.top)).toEqual(Object.fromEntries((trainingStatistics(data).columns.origin as TextColumnState).top));
    // The ISO text is read as UTC epoch ms, as ingest stores timestamps.
    expect((window.columns.date as NumericColumnState).min).toBe(Math.min(...data.map((r) => r.date)));
  });

  test('missing keys, nulls and unreadable values count as missing; numbers in text columns as their text', () => {
    const window = windowStatistics(
      reference,
      [{ distance: '120' }, { distance: null, origin: 7 }, { distance: 'far', origin: null }],
      ['distance', 'origin', 'nope'],
    );
    expect(Object.keys(window.columns)).toEqual(['distance', 'origin']);
    const distance = window.columns.distance as NumericColumnState;
    expect([distance.count, distance.finite, distance.missing, distance.min]).toEqual([3, 1, 2, 120]);
    const origin = window.columns.origin as TextColumnState;
    expect([origin.count, origin.missing, origin.top]).toEqual([3, 2, [['7', 1]]]);
  });
});

describe('drift check against the training statistics', () => {
  test('defaults are the validate stage’s', () => {
    expect(DEFAULT_DRIFT_THRESHOLDS).toEqual({
      categorical: DEFAULT_VALIDATION_CHECKS.drift.categorical,
      numeric: DEFAULT_VALIDATION_CHECKS.drift.numeric,
      numericBins: DEFAULT_VALIDATION_CHECKS.drift.numericBins,
    });
  });

  test('a window like the training data: no column breached', () => {
    const finding = checkDrift(reference, windowStatistics(reference, logged(rows(1000, 3))));
    expect(finding.status).toBe('ok');
    expect(finding.columns.map((c) => c.column)).toEqual(['distance', 'origin', 'date']);
    for (const c of finding.columns) {
      expect(c.breached).toBe(false);
      expect(c.value).toBeLessThan(c.threshold);
    }
    expect(byColumn(finding).distance!.measure).toBe('jensen_shannon');
    expect(byColumn(finding).origin!.measure).toBe('l_infinity');
  });

  test('distance ×5: the numeric column drifts (JS over 0.1), the others do not', () => {
    const finding = checkDrift(reference, windowStatistics(reference, logged(rows(1000, 4, { distanceScale: 5 }))));
    expect(finding.status).toBe('drift');
    const c = byColumn(finding);
    expect(c.distance!.breached).toBe(true);
    expect(c.distance!.value).toBeGreaterThan(0.1);
    expect(c.origin!.breached).toBe(false);
    expect(c.date!.breached).toBe(false);
    const { verdict, reason } = verdictOf(
      finding,
      { status: 'not_enough_labels', metric: 'auc', higherIsBetter: true, labels: 0, minLabels: 200, maxDrop: 0.05 },
      60,
    );
    expect(verdict).toBe('drift');
    expect(reason).toMatch(/^drift: distance JS 0\.\d+ > 0\.1$/);
  });

  test('another origin mix: the text column drifts by its largest frequency change (L-infinity)', () => {
    const shifted: Array<[string, number]> = [
      ['ATL', 0.1],
      ['ORD', 0.2],
      ['DFW', 0.3],
      ['LAX', 0.4],
    ];
    const data = rows(1000, 5, { origins: shifted });
    const finding = checkDrift(reference, windowStatistics(reference, logged(data)));
    const c = byColumn(finding);
    expect(finding.status).toBe('drift');
    expect(c.origin!.breached).toBe(true);
    expect(c.distance!.breached).toBe(false);
    // Brute force: the largest |p − q| over the four airports.
    const refCounts = new Map((reference.columns.origin as TextColumnState).top);
    const refTotal = [...refCounts.values()].reduce((a, b) => a + b, 0);
    const expected = Math.max(...shifted.map(([a]) => Math.abs(refCounts.get(a)! / refTotal - data.filter((r) => r.origin === a).length / 1000)));
    expect(c.origin!.value).toBeCloseTo(expected, 10);
    expect(c.origin!.detail).toContain('largest change');
  });

  test('thresholds are the caller’s: a higher one lets the same shift pass', () => {
    const window = windowStatistics(reference, logged(rows(1000, 4, { distanceScale: 5 })));
    expect(checkDrift(reference, window, { thresholds: { numeric: 1 } }).status).toBe('ok');
  });

  test('fewer rows than minRows: not enough traffic, nothing measured', () => {
    const finding = checkDrift(reference, windowStatistics(reference, logged(rows(120, 6, { distanceScale: 5 }))));
    expect(finding).toEqual({ status: 'not_enough_traffic', rows: 120, minRows: 500, columns: [] });
    const { verdict, reason } = verdictOf(
      finding,
      { status: 'not_enough_labels', metric: 'auc', higherIsBetter: true, labels: 0, minLabels: 200, maxDrop: 0.05 },
      60,
    );
    expect(verdict).toBe('not_enough_traffic');
    expect(reason).toBe('not enough traffic: 120 logged rows in the last 60 min, at least 500 needed to measure drift');
    expect(checkDrift(reference, windowStatistics(reference, logged(rows(120, 6))), { minRows: 100 }).status).toBe('ok');
  });
});

describe('live metric', () => {
  const transform = {
    format: TRANSFORM_V2,
    key: 'id',
    label: { column: 'delay', greaterThan: 15 },
    split: { testFraction: 0.2, seed: 1 },
    features: [],
    inputDim: 0,
    trainRows: 0,
  } as unknown as FittedTransform;
  const registered = { task: 'binary' as const, auc: 0.8, logLoss: 0.4, accuracy: 0.8, positiveRate: 0.2, rows: 1000 };

  /** Labelled rows: delays in minutes; a good model ranks every delayed flight above every punctual one. */
  function labelled(n: number, seed: number, good: boolean) {
    const random = mulberry32(seed);
    return Array.from({ length: n }, () => {
      const delayed = random() < 0.3;
      const prediction = good ? (delayed ? 0.6 + 0.4 * random() : 0.5 * random()) : random();
      return { prediction, label: delayed ? 30 + Math.round(60 * random()) : Math.round(15 * random()) };
    });
  }

  /** AUC by brute force: the share of (positive, negative) pairs ranked right, ties half. */
  function bruteAuc(rs: Array<{ prediction: number; label: number }>): number {
    const pos = rs.filter((r) => r.label > 15).map((r) => r.prediction);
    const neg = rs.filter((r) => r.label <= 15).map((r) => r.prediction);
    let right = 0;
    for (const p of pos) for (const q of neg) right += p > q ? 1 : p === q ? 0.5 : 0;
    return right / (pos.length * neg.length);
  }

  test('feedback labels are the label column’s raw value, an object holding it, or a boolean', () => {
    const label = { column: 'delay', greaterThan: 15 };
    expect([33, 3, { delay: 40 }, true, false, null, 'x'].map((v) => encodeFeedbackLabel(label, v))).toEqual([1, 0, 1, 1, 0, NaN, 0]);
  });

  test('as good as registered: ok, with the value computed on the labelled rows', () => {
    const rs = labelled(400, 7, true);
    const finding = checkLiveMetric(transform, [...rs, { prediction: 0.5 }], registered);
    expect(finding.status).toBe('ok');
    expect(finding.metric).toBe('auc');
    expect(finding.labels).toBe(400);
    expect(finding.value).toBeCloseTo(bruteAuc(rs), 6);
    expect(finding.registered).toBe(0.8);
    expect(finding.drop).toBeLessThan(0);
  });

  test('a model no better than chance: degraded, the drop named', () => {
    const rs = labelled(400, 8, false);
    const finding = checkLiveMetric(transform, rs, registered);
    expect(finding.status).toBe('degraded');
    expect(finding.drop).toBeCloseTo(0.8 - bruteAuc(rs), 6);
    expect(finding.drop).toBeGreaterThan(0.05);
    const drift = { status: 'ok' as const, rows: 1000, minRows: 500, columns: [] };
    const { verdict, reason } = verdictOf(drift, finding, 60);
    expect(verdict).toBe('performance');
    expect(reason).toMatch(/^performance: auc 0\.\d+ on 400 labelled rows, 0\.\d+ below the registered 0\.8 \(allowed 0\.05\)$/);
    // A larger allowance accepts it.
    expect(checkLiveMetric(transform, rs, registered, { maxDrop: 0.5 }).status).toBe('ok');
  });

  test('fewer labels than minLabels: not computed', () => {
    const finding = checkLiveMetric(transform, labelled(150, 9, false), registered);
    expect(finding).toMatchObject({ status: 'not_enough_labels', labels: 150, minLabels: 200 });
    expect(finding.value).toBeUndefined();
    expect(checkLiveMetric(transform, labelled(150, 9, false), registered, { minLabels: 100 }).status).toBe('degraded');
  });
});

describe('monitor spec', () => {
  const retrain = {
    name: 'flights',
    source: { kind: 'postgres', table: 'flights', key: 'id' },
    label: { column: 'delay', greaterThan: 15 },
    features: [{ kind: 'numeric', name: 'distance', column: 'distance' }],
    model: { type: 'mlp', hidden: [8], epochs: 1 },
  };

  test('defaults', () => {
    const spec = parseMonitorSpec({ model: 'flights', retrain });
    expect(spec).toMatchObject({
      model: 'flights',
      windowMinutes: 60,
      minRows: 500,
      minLabels: 200,
      maxDrop: 0.05,
      thresholds: DEFAULT_DRIFT_THRESHOLDS,
    });
    expect(spec.retrain.name).toBe('flights');
  });

  test('every problem named, with its field', () => {
    let error: unknown;
    try {
      parseMonitorSpec({
        model: 'flights',
        windowMinutes: -5,
        minRows: 1.5,
        thresholds: { numeric: 2, categorial: 0.2 },
        retrain: { ...retrain, label: undefined },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MonitorSpecError);
    const { problems, message } = error as MonitorSpecError;
    expect(message).toMatch(/^Invalid monitor spec:/);
    expect(problems.some((p) => p.startsWith('windowMinutes:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('minRows:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('thresholds.numeric:'))).toBe(true);
    expect(problems).toContain('thresholds: unknown field "categorial"; remove it or check its spelling');
    expect(problems.some((p) => p.startsWith('retrain.label'))).toBe(true);
  });

  test('the retraining spec is required, and must train the monitored model', () => {
    expect(() => parseMonitorSpec({ model: 'flights' })).toThrow('retrain: the retraining pipeline spec is required');
    expect(() => parseMonitorSpec({ model: 'other', retrain })).toThrow('retrain: the spec trains model "flights", not "other"');
    expect(() => parseMonitorSpec(null)).toThrow(MonitorSpecError);
  });
});
