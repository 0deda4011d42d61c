import type { EvaluationMetrics } from '../../contracts/refs';
import { classificationMetrics } from '../../lib/evaluation/classification-metrics';
import { binaryMetricsOf, formatClassMetrics, formatMetrics, metricsTask } from '../../lib/evaluation/metrics-summary';
import { MulticlassMetricsAccumulator, multiclassMetrics } from '../../lib/evaluation/multiclass-metrics';
import { regressionMetrics } from '../../lib/evaluation/regression-metrics';
import { metricsAccumulator } from '../../lib/evaluation/task-metrics';
import type { FittedTransform } from '../../lib/features/transform';

/** A small case worked by hand: 5 rows, 3 classes, predicted = the most probable. */
const LABELS = [0, 1, 2, 2, 1];
const PROBABILITIES = [
  [0.7, 0.2, 0.1], // a, right
  [0.1, 0.6, 0.3], // b, right
  [0.2, 0.5, 0.3], // c predicted b
  [0.1, 0.1, 0.8], // c, right
  [0.5, 0.4, 0.1], // b predicted a
].flat();

describe('multiclass metrics', () => {
  test('accuracy, log loss, per-class precision / recall / F1 and the macro mean, by hand', () => {
    const m = multiclassMetrics(LABELS, PROBABILITIES, ['a', 'b', 'c']);
    expect(m.task).toBe('multiclass');
    expect(m.rows).toBe(5);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
    expect(m.microF1).toBe(m.accuracy);
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.6) + Math.log(0.3) + Math.log(0.8) + Math.log(0.4)) / 5, 12);
    // a: 1 row, predicted twice (1 right); b: 2 rows, predicted twice (1 right); c: 2 rows, predicted once (right).
    const expected = [
      { class: 'a', precision: 0.5, recall: 1, f1: 2 / 3, support: 1 },
      { class: 'b', precision: 0.5, recall: 0.5, f1: 0.5, support: 2 },
      { class: 'c', precision: 1, recall: 0.5, f1: 2 / 3, support: 2 },
    ];
    m.perClass.forEach((c, k) => {
      expect(c.class).toBe(expected[k]!.class);
      expect(c.support).toBe(expected[k]!.support);
      expect(c.precision).toBeCloseTo(expected[k]!.precision, 12);
      expect(c.recall).toBeCloseTo(expected[k]!.recall, 12);
      expect(c.f1).toBeCloseTo(expected[k]!.f1, 12);
    });
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0.5 + 2 / 3) / 3, 12);
  });

  test('a class neither in the test split nor predicted is listed with zeros and left out of the macro mean', () => {
    const four = PROBABILITIES.flatMap((p, i) => (i % 3 === 2 ? [p, 0] : [p]));
    const m = multiclassMetrics(LABELS, four, ['a', 'b', 'c', 'd']);
    expect(m.perClass[3]).toEqual({ class: 'd', precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0.5 + 2 / 3) / 3, 12);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
  });

  test('batch by batch gives what the whole does; ties go to the first class; probabilities are clipped', () => {
    const acc = new MulticlassMetricsAccumulator(['a', 'b', 'c']);
    acc.add(PROBABILITIES.slice(0, 6), LABELS.slice(0, 2), 2);
    acc.add(PROBABILITIES.slice(6), LABELS.slice(2), 3);
    expect(acc.result()).toEqual(multiclassMetrics(LABELS, PROBABILITIES, ['a', 'b', 'c']));
    const tie = multiclassMetrics([1], [0.5, 0.5], ['x', 'y']);
    expect(tie.accuracy).toBe(0);
    expect(multiclassMetrics([0], [0, 1], ['x', 'y']).logLoss).toBeCloseTo(-Math.log(1e-7), 6);
  });

  test('no rows: NaN figures; a label outside the classes is an error', () => {
    const m = new MulticlassMetricsAccumulator(['a', 'b']).result();
    expect(m.accuracy).toBeNaN();
    expect(m.logLoss).toBeNaN();
    expect(m.macroF1).toBeNaN();
    expect(() => multiclassMetrics([2], [0.5, 0.5], ['a', 'b'])).toThrow('row 0 has the class index 2; the label has 2 classes');
  });
});

describe('regression metrics', () => {
  test('RMSE, MAE and R² of a known case', () => {
    // errors 0.5, 0, -1, 1: SSE 2.25; labels' mean 2.5, SST 5.
    const m = regressionMetrics([1, 2, 3, 4], [1.5, 2, 2, 5]);
    expect(m).toEqual({ task: 'regression', rmse: 0.75, mae: 0.625, r2: expect.closeTo(0.55, 12) as unknown as number, rows: 4 });
  });

  test('a perfect fit has R² 1; predicting the mean R² 0; a constant label leaves R² undefined', () => {
    expect(regressionMetrics([1, 2, 3], [1, 2, 3]).r2).toBe(1);
    expect(regressionMetrics([1, 2, 3], [2, 2, 2]).r2).toBeCloseTo(0, 12);
    expect(regressionMetrics([4, 4], [3, 5]).r2).toBeNaN();
    expect(regressionMetrics([], []).rmse).toBeNaN();
  });
});

describe('metricsAccumulator: the task of the transform', () => {
  const base = { format: 'pipewright.transform/v2' as const, key: 'id', split: { testFraction: 0.2, seed: 1 }, features: [], inputDim: 0, trainRows: 10 };

  test('binary: the classification metrics of every score', () => {
    const acc = metricsAccumulator({ ...base, label: { column: 'y', greaterThan: 0 } } satisfies FittedTransform, 4);
    acc.add(Float32Array.from([0.9, 0.2]), Float32Array.from([1, 0]), 2, 1);
    acc.add(Float32Array.from([0.6, 0.5]), Float32Array.from([1, 0]), 2, 1);
    // The figures classificationMetrics computes row by row, and the ones the metric states add.
    expect(acc.result()).toMatchObject({
      ...classificationMetrics([1, 0, 1, 0], Float32Array.from([0.9, 0.2, 0.6, 0.5])),
      prAuc: 1,
      precision: 2 / 3,
      recall: 1,
      f1: 0.8,
    });
    expect(acc.result().task).toBe('binary');
    expect(() => acc.add(new Float32Array(2), new Float32Array(1), 1, 2)).toThrow('the model gives 2 outputs per row, but the binary label needs 1');
  });

  test('multiclass: class names from the transform', () => {
    const acc = metricsAccumulator({ ...base, label: { column: 's', task: 'multiclass', classes: [1, 2, 3] } } satisfies FittedTransform, 5);
    acc.add(Float32Array.from(PROBABILITIES), Float32Array.from(LABELS), 5, 3);
    const m = acc.result();
    expect(m.task === 'multiclass' && m.perClass.map((c) => c.class)).toEqual(['1', '2', '3']);
    expect(m.task === 'multiclass' && m.accuracy).toBeCloseTo(0.6, 6);
  });

  test("regression: labels and outputs de-standardised into the label's units", () => {
    const acc = metricsAccumulator({ ...base, label: { column: 'd', task: 'regression', mean: 10, std: 2 } } satisfies FittedTransform, 4);
    // y = 12, 14, 16, 18 and predictions 13, 14, 14, 20 (the known case above, doubled and shifted).
    acc.add(Float32Array.from([1.5, 2, 2, 5]), Float32Array.from([1, 2, 3, 4]), 4, 1);
    const m = acc.result();
    if (m.task !== 'regression') throw new Error('regression metrics expected');
    expect(m.rmse).toBeCloseTo(1.5, 12);
    expect(m.mae).toBeCloseTo(1.25, 12);
    expect(m.r2).toBeCloseTo(0.55, 12);
  });
});

describe('metrics records and their summaries', () => {
  const old: EvaluationMetrics = { auc: 0.75, logLoss: 0.48, accuracy: 0.8, positiveRate: 0.2, rows: 800 };

  test('a record without a task (written before other tasks) is binary', () => {
    expect(metricsTask(old)).toBe('binary');
    expect(binaryMetricsOf(old).auc).toBe(0.75);
    expect(formatMetrics(old)).toBe('AUC 0.7500 · log loss 0.4800 · accuracy 0.8000 · 800 test rows (20.0% positive)');
    expect(() => binaryMetricsOf({ task: 'regression', rmse: 1, mae: 1, r2: 0, rows: 1 })).toThrow(
      'expected the metrics of a binary label, got regression metrics',
    );
  });

  test('undefined figures (NaN, null from JSON) print as n/a', () => {
    const stored = JSON.parse(JSON.stringify({ ...old, auc: Number.NaN })) as EvaluationMetrics;
    expect(formatMetrics(stored)).toBe('AUC n/a · log loss 0.4800 · accuracy 0.8000 · 800 test rows (20.0% positive)');
  });

  test('multiclass and regression lines, and the per-class table', () => {
    const m = multiclassMetrics(LABELS, PROBABILITIES, ['early', 'on_time', 'late']);
    expect(formatMetrics(m)).toBe(`accuracy 0.6000 · log loss ${m.logLoss.toFixed(4)} · macro F1 0.6111 · 3 classes · 5 test rows`);
    expect(formatClassMetrics(m)).toEqual([
      'class    precision  recall  F1      support',
      'on_time  0.5000     0.5000  0.5000  2',
      'late     1.0000     0.5000  0.6667  2',
      'early    0.5000     1.0000  0.6667  1',
    ]);
    expect(formatClassMetrics(old)).toEqual([]);
    expect(formatMetrics(regressionMetrics([1, 2, 3, 4], [1.5, 2, 2, 5]))).toBe('RMSE 0.75 · MAE 0.625 · R² 0.5500 · 4 test rows');
  });
});
