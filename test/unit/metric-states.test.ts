import { rocAuc } from '../../lib/evaluation/classification-metrics';
import { binaryMetricsOf, confusionAt } from '../../lib/evaluation/states/binary-metrics';
import { MAX_CURVE_VERTICES, binaryCurvesOf, thinned } from '../../lib/evaluation/states/binary-curves';
import { BinaryStateBuilder, binaryStateOf, mergeBinaryStates, type BinaryState } from '../../lib/evaluation/states/binary-state';
import {
  StateAccumulator,
  addBatch,
  emptyState,
  mergeStates,
  metricsOf,
  rowsOf,
  type MetricState,
  type StateHead,
} from '../../lib/evaluation/states/metric-state';
import { absoluteErrorQuantiles, type RegressionState } from '../../lib/evaluation/states/regression-state';
import type { MulticlassState } from '../../lib/evaluation/states/multiclass-state';
import { mulberry32 } from '../../lib/random';
import { bruteForceAuc } from './fixtures/brute-force-auc';

/**
 * The metric states against brute force: every binary figure from its definition on small data
 * with tied scores, multiclass and regression figures computed directly, and merges of random
 * splits equal to the state of all rows (bitwise for the binary table and every count).
 */

interface BinaryRows {
  labels: number[];
  scores: number[];
}

/** Random rows whose float32 scores lean towards the label; `levels` > 0 rounds them to few values (heavy ties). */
function binaryRows(random: () => number, n: number, levels: number, positiveShare = 0.35): BinaryRows {
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = random() < positiveShare ? 1 : 0;
    const raw = Math.min(1, Math.max(0, 0.25 * label + 0.75 * random()));
    labels.push(label);
    scores.push(Math.fround(levels > 0 ? Math.round(raw * levels) / levels : raw));
  }
  return { labels, scores };
}

const stateOf = (r: BinaryRows): BinaryState => binaryStateOf(Float32Array.from(r.scores), Float32Array.from(r.labels), r.labels.length);

const bruteAuc = ({ labels, scores }: BinaryRows): number => bruteForceAuc(labels, scores);

/** scikit-learn's average_precision_score, naively: Σ (R_n − R_{n−1}) P_n over distinct thresholds, highest first. */
function bruteAp({ labels, scores }: BinaryRows): number {
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  const positives = labels.filter((l) => l === 1).length;
  let previousRecall = 0;
  let ap = 0;
  for (const t of thresholds) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => {
      if (s >= t) {
        if (labels[i] === 1) tp++;
        else fp++;
      }
    });
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return ap;
}

function bruteFigures({ labels, scores }: BinaryRows) {
  const n = labels.length;
  let logLoss = 0;
  let brier = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  labels.forEach((y, i) => {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, scores[i]!));
    logLoss += y === 1 ? -Math.log(p) : -Math.log(1 - p);
    brier += (scores[i]! - y) ** 2;
    const predicted = scores[i]! >= 0.5 ? 1 : 0;
    if (predicted === y) correct++;
    if (predicted === 1 && y === 1) tp++;
    if (predicted === 1 && y === 0) fp++;
    if (predicted === 0 && y === 1) fn++;
  });
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    logLoss: logLoss / n,
    brier: brier / n,
    accuracy: correct / n,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    positiveRate: labels.filter((l) => l === 1).length / n,
  };
}

/** The same bytes: typed arrays compared as raw memory, so -0/0 or NaN payloads would show. */
function expectSameTable(a: BinaryState, b: BinaryState): void {
  expect(
    Buffer.from(a.scores.buffer, a.scores.byteOffset, a.scores.byteLength).equals(Buffer.from(b.scores.buffer, b.scores.byteOffset, b.scores.byteLength)),
  ).toBe(true);
  expect(Array.from(a.positives)).toEqual(Array.from(b.positives));
  expect(Array.from(a.negatives)).toEqual(Array.from(b.negatives));
}

/** Splits row indices at random into k parts (some may be empty). */
function randomParts(random: () => number, n: number, k: number): number[][] {
  const parts: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) parts[Math.floor(random() * k)]!.push(i);
  return parts;
}

function shuffled<T>(random: () => number, xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Merges in a random order and grouping: a random pair of the remaining states at each step. */
function mergeRandomly<S>(random: () => number, states: S[], merge: (a: S, b: S) => S): S {
  const pool = [...states];
  while (pool.length > 1) {
    const i = Math.floor(random() * pool.length);
    const a = pool.splice(i, 1)[0]!;
    const j = Math.floor(random() * pool.length);
    const b = pool.splice(j, 1)[0]!;
    pool.push(random() < 0.5 ? merge(a, b) : merge(b, a));
  }
  return pool[0]!;
}

describe('binary state: figures against their definitions', () => {
  test('a hand-worked case: AUC 0.75, average precision 5/6', () => {
    const rows = { labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.35, 0.8].map(Math.fround) };
    const m = binaryMetricsOf(stateOf(rows));
    // Pairs (pos, neg): 0.35 > 0.1, 0.35 < 0.4, 0.8 > both: 3 of 4.
    expect(m.auc).toBe(0.75);
    // Thresholds 0.8 (P 1, R ½), 0.4 (P ½, R ½), 0.35 (P ⅔, R 1): ½·1 + ½·⅔ = 5/6.
    expect(m.prAuc).toBeCloseTo(5 / 6, 15);
    // Predicted positive at 0.5: only 0.8 (a positive): precision 1, recall ½, accuracy ¾.
    expect(m).toMatchObject({ accuracy: 0.75, precision: 1, recall: 0.5, positiveRate: 0.5, rows: 4 });
    expect(m.f1).toBeCloseTo(2 / 3, 15);
  });

  test('every figure matches brute force on random data with tied scores; AUC is bit-identical to rocAuc', () => {
    const random = mulberry32(2718);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(random() * 250);
      const rows = binaryRows(random, n, trial % 3 === 0 ? 0 : 1 + Math.floor(random() * 12), trial % 10 === 0 ? 0.02 : 0.35);
      const m = binaryMetricsOf(stateOf(rows));
      const hasBoth = rows.labels.includes(0) && rows.labels.includes(1);
      if (hasBoth) {
        expect(m.auc).toBeCloseTo(bruteAuc(rows), 12);
        expect(m.auc).toBe(rocAuc(rows.labels, rows.scores));
      } else expect(m.auc).toBeNaN();
      if (rows.labels.includes(1)) expect(m.prAuc).toBeCloseTo(bruteAp(rows), 12);
      else expect(m.prAuc).toBeNaN();
      const brute = bruteFigures(rows);
      expect(m.logLoss).toBeCloseTo(brute.logLoss, 12);
      expect(m.brier).toBeCloseTo(brute.brier!, 12);
      expect(m.accuracy).toBe(brute.accuracy);
      expect(m.precision).toBe(brute.precision);
      expect(m.recall).toBe(brute.recall);
      expect(m.f1).toBeCloseTo(brute.f1, 14);
      expect(m.positiveRate).toBe(brute.positiveRate);
      expect(m.rows).toBe(n);
    }
  });

  test('the table: distinct scores ascending, counts per label, -0 as 0; NaN refused', () => {
    const s = binaryStateOf(Float32Array.from([0.5, -0, 0.5, 0, 0.25, 0.5]), Float32Array.from([1, 0, 0, 1, 1, 1]), 6);
    expect(Array.from(s.scores)).toEqual([0, 0.25, 0.5]);
    expect(Object.is(s.scores[0], 0)).toBe(true);
    expect(Array.from(s.positives)).toEqual([1, 1, 2]);
    expect(Array.from(s.negatives)).toEqual([1, 0, 1]);
    expect(() => binaryStateOf(Float32Array.from([0.1, NaN]), Float32Array.from([0, 1]), 2)).toThrow('the model scored a test row NaN');
  });

  test('no rows: undefined figures are NaN, the rates at 0.5 are 0', () => {
    const m = metricsOf(emptyState({ task: 'binary' }));
    expect(m).toMatchObject({ rows: 0, precision: 0, recall: 0, f1: 0 });
    for (const k of ['auc', 'logLoss', 'accuracy', 'positiveRate', 'prAuc', 'brier'] as const) expect((m as unknown as Record<string, number>)[k]).toBeNaN();
  });
});

describe('binary state: merges', () => {
  test('shards merged in any order and grouping give the table of all rows, and so the same figures bit for bit', () => {
    const random = mulberry32(99);
    for (let trial = 0; trial < 25; trial++) {
      const n = 50 + Math.floor(random() * 400);
      const rows = binaryRows(random, n, trial % 2 === 0 ? 0 : 2 + Math.floor(random() * 20));
      const whole = stateOf(rows);
      const parts = randomParts(random, n, 1 + Math.floor(random() * 7)).map((idx) =>
        stateOf({ labels: idx.map((i) => rows.labels[i]!), scores: idx.map((i) => rows.scores[i]!) }),
      );
      const merged = mergeRandomly(random, parts, mergeBinaryStates);
      expectSameTable(merged, whole);
      expect(binaryMetricsOf(merged)).toEqual(binaryMetricsOf(whole));
      expect(binaryCurvesOf(merged)).toEqual(binaryCurvesOf(whole));
    }
  });

  test('batch by batch (the builder, addBatch) is the table of all rows', () => {
    const random = mulberry32(5);
    const rows = binaryRows(random, 3000, 40);
    const builder = new BinaryStateBuilder();
    let folded: MetricState = emptyState({ task: 'binary' });
    for (let at = 0; at < rows.labels.length;) {
      const size = Math.min(rows.labels.length - at, 1 + Math.floor(random() * 300));
      const batch = { labels: rows.labels.slice(at, at + size), scores: rows.scores.slice(at, at + size) };
      builder.add(stateOf(batch));
      folded = addBatch(folded, { outputs: Float32Array.from(batch.scores), labels: Float32Array.from(batch.labels), rows: size, units: 1 });
      at += size;
    }
    expectSameTable(builder.state(), stateOf(rows));
    expectSameTable(folded as BinaryState, stateOf(rows));
  });
});

describe('binary curves', () => {
  test('ROC and PR vertices at every distinct threshold of a small table; the confusion table and calibration by brute force', () => {
    const random = mulberry32(17);
    const rows = binaryRows(random, 200, 8);
    const state = stateOf(rows);
    const curves = binaryCurvesOf(state);
    const distinct = [...new Set(rows.scores)].sort((a, b) => b - a);
    const P = rows.labels.filter((l) => l === 1).length;
    const N = rows.labels.length - P;
    expect(curves.roc.thresholds.slice(1)).toEqual(distinct);
    expect(curves.roc.thresholds[0]).toBe(distinct[0]! + 1);
    expect([curves.roc.fpr[0], curves.roc.tpr[0]]).toEqual([0, 0]);
    expect([curves.roc.fpr.at(-1), curves.roc.tpr.at(-1)]).toEqual([1, 1]);
    distinct.forEach((t, k) => {
      let tp = 0;
      let fp = 0;
      rows.scores.forEach((s, i) => {
        if (s >= t && rows.labels[i] === 1) tp++;
        else if (s >= t) fp++;
      });
      expect(curves.roc.tpr[k + 1]).toBe(tp / P);
      expect(curves.roc.fpr[k + 1]).toBe(fp / N);
      expect(curves.pr.recall[k + 1]).toBe(tp / P);
      expect(curves.pr.precision[k + 1]).toBe(tp / (tp + fp));
    });
    expect(curves.thresholds).toHaveLength(21);
    curves.thresholds.forEach((row, k) => {
      expect(row.threshold).toBe(k / 20);
      const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
      rows.scores.forEach((s, i) => {
        const key = s >= k / 20 ? (rows.labels[i] === 1 ? 'tp' : 'fp') : rows.labels[i] === 1 ? 'fn' : 'tn';
        c[key]++;
      });
      expect(row).toMatchObject(c);
      expect(confusionAt(state, k / 20)).toEqual(c);
    });
    let binned = 0;
    for (const bin of curves.calibration) {
      const inBin = rows.scores.map((s, i) => ({ s, y: rows.labels[i]! })).filter(({ s }) => Math.min(9, Math.floor(s * 10)) === Math.round(bin.lower * 10));
      expect(bin.rows).toBe(inBin.length);
      expect(bin.meanPredicted).toBeCloseTo(inBin.reduce((a, r) => a + r.s, 0) / inBin.length, 12);
      expect(bin.observedRate).toBeCloseTo(inBin.filter((r) => r.y === 1).length / inBin.length, 12);
      binned += bin.rows;
    }
    expect(binned).toBe(200);
  });

  test('a curve of many vertices is thinned to at most 300, endpoints kept, monotone', () => {
    const rows = binaryRows(mulberry32(3), 20000, 0);
    const curves = binaryCurvesOf(stateOf(rows));
    for (const xs of [curves.roc.fpr, curves.pr.recall]) {
      expect(xs.length).toBeLessThanOrEqual(MAX_CURVE_VERTICES);
      expect(xs.length).toBeGreaterThan(MAX_CURVE_VERTICES / 2);
      expect(xs[0]).toBe(0);
      expect(xs.at(-1)).toBe(1);
      for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThanOrEqual(xs[i - 1]!);
    }
    expect(thinned(5, (k) => k, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(thinned(1000, () => 0, 10)).toEqual([0, 999]);
  });

  test('a table without negatives has no ROC curve, one without positives no PR curve either', () => {
    const onlyPositive = binaryCurvesOf(stateOf({ labels: [1, 1], scores: [0.2, 0.7].map(Math.fround) }));
    expect(onlyPositive.roc.fpr).toEqual([]);
    expect(onlyPositive.pr.recall).toEqual([0, 0.5, 1]);
    const onlyNegative = binaryCurvesOf(stateOf({ labels: [0], scores: [0.2].map(Math.fround) }));
    expect(onlyNegative.pr.recall).toEqual([]);
    expect(onlyNegative.calibration).toHaveLength(1);
  });
});

describe('multiclass state', () => {
  const classes = ['a', 'b', 'c', 'd'];
  const head: StateHead = { task: 'multiclass', classes };

  function randomRows(random: () => number, n: number) {
    const labels = new Float32Array(n);
    const probabilities = new Float32Array(n * 4);
    for (let r = 0; r < n; r++) {
      labels[r] = Math.floor(random() * 3); // class d never occurs
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += probabilities[r * 4 + k] = Math.round(random() * 4) + (k === labels[r] ? 2 : 0); // ties happen
      for (let k = 0; k < 4; k++) probabilities[r * 4 + k]! /= sum;
    }
    return { labels, probabilities };
  }

  test('figures computed directly; merges give the same counts bitwise', () => {
    const random = mulberry32(8);
    const n = 500;
    const { labels, probabilities } = randomRows(random, n);
    const whole = addBatch(emptyState(head), { outputs: probabilities, labels, rows: n, units: 4 }) as MulticlassState;
    const m = metricsOf(whole);
    if (m.task !== 'multiclass') throw new Error('multiclass expected');
    // Direct: argmax with ties to the lowest index.
    const predicted = Array.from({ length: n }, (_, r) => {
      let best = 0;
      for (let k = 1; k < 4; k++) if (probabilities[r * 4 + k]! > probabilities[r * 4 + best]!) best = k;
      return best;
    });
    const correct = predicted.filter((p, r) => p === labels[r]).length;
    expect(m.accuracy).toBe(correct / n);
    const logLoss = Array.from(labels).reduce((s, y, r) => s - Math.log(Math.min(1 - 1e-7, Math.max(1e-7, probabilities[r * 4 + y]!))), 0) / n;
    expect(m.logLoss).toBeCloseTo(logLoss, 12);
    const f1s: number[] = [];
    classes.forEach((c, k) => {
      const tp = predicted.filter((p, r) => p === k && labels[r] === k).length;
      const support = Array.from(labels).filter((y) => y === k).length;
      const predictedK = predicted.filter((p) => p === k).length;
      const precision = predictedK > 0 ? tp / predictedK : 0;
      const recall = support > 0 ? tp / support : 0;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      expect(m.perClass[k]).toEqual({ class: c, precision, recall, f1, support });
      if (support > 0 || predictedK > 0) f1s.push(f1);
    });
    expect(m.macroF1).toBeCloseTo(f1s.reduce((a, b) => a + b, 0) / f1s.length, 14);

    for (let trial = 0; trial < 5; trial++) {
      const parts = randomParts(random, n, 2 + trial).map((idx) => {
        const acc = new StateAccumulator(head);
        acc.add({
          outputs: Float32Array.from(idx.flatMap((r) => Array.from(probabilities.subarray(r * 4, r * 4 + 4)))),
          labels: Float32Array.from(idx.map((r) => labels[r]!)),
          rows: idx.length,
          units: 4,
        });
        return acc.state();
      });
      const merged = mergeRandomly(random, parts, mergeStates) as MulticlassState;
      expect(Array.from(merged.confusion)).toEqual(Array.from(whole.confusion));
      expect(merged.rows).toBe(n);
      expect(merged.logLossSum).toBeCloseTo(whole.logLossSum, 9);
      const mm = metricsOf(merged);
      expect({ ...mm, logLoss: 0 }).toEqual({ ...m, logLoss: 0 });
    }
  });

  test('a state of other classes or another task does not merge', () => {
    expect(() => mergeStates(emptyState(head), emptyState({ task: 'multiclass', classes: ['a', 'b'] }))).toThrow(
      'cannot merge multiclass states of different classes',
    );
    expect(() => mergeStates(emptyState(head), emptyState({ task: 'binary' }))).toThrow('cannot merge a multiclass metric state with a binary one');
    expect(() => addBatch(emptyState(head), { outputs: new Float32Array(2), labels: new Float32Array(1), rows: 1, units: 2 })).toThrow(
      'the model gives 2 outputs per row, but the multiclass label needs 4',
    );
  });
});

describe('regression state', () => {
  const scale = { mean: 40, std: 7.5 };
  const head: StateHead = { task: 'regression', scale };

  test('figures in the label units computed directly; merges equal within 1e-12; the same error sketch', () => {
    const random = mulberry32(31);
    const n = 2000;
    const labels = new Float32Array(n);
    const outputs = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      labels[r] = random() * 4 - 2;
      outputs[r] = labels[r]! + (random() - 0.5) * (r % 7 === 0 ? 3 : 0.5);
    }
    const whole = addBatch(emptyState(head), { outputs, labels, rows: n, units: 1 }) as RegressionState;
    const m = metricsOf(whole);
    if (m.task !== 'regression') throw new Error('regression expected');
    const y = Array.from(labels, (v) => v * scale.std + scale.mean);
    const p = Array.from(outputs, (v) => v * scale.std + scale.mean);
    const errors = p.map((v, i) => v - y[i]!);
    const mean = y.reduce((a, b) => a + b, 0) / n;
    const sst = y.reduce((a, v) => a + (v - mean) ** 2, 0);
    const sse = errors.reduce((a, e) => a + e * e, 0);
    expect(m.rmse).toBeCloseTo(Math.sqrt(sse / n), 10);
    expect(m.mae).toBeCloseTo(errors.reduce((a, e) => a + Math.abs(e), 0) / n, 10);
    expect(m.r2).toBeCloseTo(1 - sse / sst, 10);
    // Quantiles of |error| within the sketch's 1 %, against the sorted errors (rank floor(q(n-1))).
    const sorted = errors.map(Math.abs).sort((a, b) => a - b);
    for (const { q, value } of absoluteErrorQuantiles(whole)) {
      const exact = sorted[Math.floor(q * (n - 1))]!;
      expect(Math.abs(value - exact)).toBeLessThanOrEqual(0.0101 * exact);
    }

    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(a), Math.abs(b)));
    for (let trial = 0; trial < 5; trial++) {
      const parts = randomParts(random, n, 2 + 2 * trial).map((idx) => {
        const acc = new StateAccumulator(head);
        acc.add({ outputs: Float32Array.from(idx.map((r) => outputs[r]!)), labels: Float32Array.from(idx.map((r) => labels[r]!)), rows: idx.length, units: 1 });
        return acc.state();
      });
      const merged = mergeRandomly(random, shuffled(random, parts), mergeStates) as RegressionState;
      const mm = metricsOf(merged);
      if (mm.task !== 'regression') throw new Error('regression expected');
      expect(mm.rows).toBe(n);
      close(mm.rmse, m.rmse);
      close(mm.mae, m.mae);
      close(mm.r2, m.r2);
      close(merged.mean, whole.mean);
      close(merged.m2, whole.m2);
      expect(merged.absoluteErrors).toEqual(whole.absoluteErrors);
      expect(absoluteErrorQuantiles(merged)).toEqual(absoluteErrorQuantiles(whole));
    }
  });

  test('states of different label scales do not merge', () => {
    expect(() => mergeStates(emptyState(head), emptyState({ task: 'regression', scale: { mean: 0, std: 1 } }))).toThrow('different label scales');
    expect(rowsOf(emptyState(head))).toBe(0);
    expect(metricsOf(emptyState(head))).toMatchObject({ rows: 0, rmse: NaN });
  });
});
