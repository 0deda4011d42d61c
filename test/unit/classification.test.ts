import { accuracy, classificationMetrics, logLoss, rocAuc } from '../../lib/evaluation/classification-metrics';
import { mulberry32 } from '../../lib/random';
import { bruteForceAuc } from './fixtures/brute-force-auc';

describe('rocAuc', () => {
  test('matches the pairwise definition on random data with many ties', () => {
    const random = mulberry32(314159);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + Math.floor(random() * 300);
      const labels: number[] = [];
      const scores: number[] = [];
      // Some trials have continuous scores, some only a handful of distinct values (heavy ties).
      const levels = trial % 3 === 0 ? 0 : 2 + Math.floor(random() * 8);
      for (let i = 0; i < n; i++) {
        const label = random() < 0.3 ? 1 : 0;
        const raw = 0.3 * label + random();
        labels.push(label);
        scores.push(levels === 0 ? raw : Math.round(raw * levels) / levels);
      }
      if (!labels.includes(0) || !labels.includes(1)) continue;
      expect(rocAuc(labels, scores)).toBeCloseTo(bruteForceAuc(labels, scores), 12);
    }
  });

  test('works on typed arrays', () => {
    const labels = Float32Array.from([0, 1, 0, 1, 1, 0]);
    const scores = Float32Array.from([0.1, 0.4, 0.35, 0.8, 0.2, 0.7]);
    // Positives 0.4, 0.8, 0.2 vs negatives 0.1, 0.35, 0.7: 0.4 beats 2, 0.8 beats 3, 0.2 beats 1 -> 6/9.
    expect(rocAuc(labels, scores)).toBeCloseTo(6 / 9, 12);
  });

  test('a perfect classifier scores 1 and an inverted one 0', () => {
    const labels = [0, 0, 0, 1, 1];
    expect(rocAuc(labels, [0.1, 0.2, 0.3, 0.8, 0.9])).toBe(1);
    expect(rocAuc(labels, [0.9, 0.8, 0.7, 0.2, 0.1])).toBe(0);
  });

  test('order of rows does not matter', () => {
    expect(rocAuc([1, 0, 1, 0, 0], [0.9, 0.1, 0.8, 0.3, 0.2])).toBe(1);
  });

  test('all-equal scores give 0.5', () => {
    expect(rocAuc([0, 1, 0, 1, 1], [0.5, 0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  test('ties between a positive and a negative count half', () => {
    // Pairs (pos, neg): (0.5, 0.5) tie = 0.5, (0.5, 0.1) win = 1, (0.9, 0.5) win, (0.9, 0.1) win -> 3.5 / 4.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1])).toBeCloseTo(3.5 / 4, 12);
  });

  test('is NaN when only one class is present', () => {
    expect(rocAuc([1, 1, 1], [0.2, 0.5, 0.9])).toBeNaN();
    expect(rocAuc([0, 0], [0.2, 0.5])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
  });

  test('rejects labels and scores of different lengths', () => {
    expect(() => rocAuc([0, 1], [0.5])).toThrow('rocAuc: 2 labels but 1 scores');
  });

  test('sorts a large input correctly (not by string order)', () => {
    const labels: number[] = [];
    const scores: number[] = [];
    for (let i = 0; i < 2000; i++) {
      // Scores with different digit counts: 2, 10, 100, ... sort differently as strings.
      scores.push(i + 1);
      labels.push(i >= 1000 ? 1 : 0);
    }
    expect(rocAuc(labels, scores)).toBe(1);
  });
});

describe('logLoss', () => {
  test('matches a hand computation', () => {
    // -(ln 0.9 + ln 0.8 + ln 0.6 + ln 0.5) / 4
    // = (0.1053605 + 0.2231436 + 0.5108256 + 0.6931472) / 4 = 1.5324769 / 4 = 0.3831192
    expect(logLoss([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5])).toBeCloseTo(0.3831192, 6);
  });

  test('is ln 2 for a coin-flip prediction', () => {
    expect(logLoss([0, 1, 1, 0, 1], [0.5, 0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.6931472, 6);
  });

  test('clips probabilities of 0 and 1 instead of returning Infinity', () => {
    // A confident wrong answer costs -ln(eps) = -ln(1e-7) = 7 ln 10 = 16.1180957.
    expect(logLoss([1], [0])).toBeCloseTo(16.1180957, 5);
    expect(logLoss([0], [1])).toBeCloseTo(16.1180957, 5);
    // A confident right answer costs -ln(1 - 1e-7), about 1e-7.
    expect(logLoss([1, 0], [1, 0])).toBeCloseTo(1e-7, 10);
    expect(logLoss([1], [0], 1e-3)).toBeCloseTo(6.9077553, 6); // -ln(0.001)
  });

  test('is NaN for no rows', () => {
    expect(logLoss([], [])).toBeNaN();
  });
});

describe('accuracy', () => {
  test('thresholds at 0.5 by default, inclusive', () => {
    // Predictions >= 0.5: [1, 0, 1, 1]; labels [1, 0, 1, 0] -> 3 of 4 right.
    expect(accuracy([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5])).toBe(0.75);
  });

  test('uses the given threshold', () => {
    // Predictions >= 0.7: [1, 0, 0, 0] -> rows 0, 1, 3 right.
    expect(accuracy([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5], 0.7)).toBe(0.75);
    // Predictions >= 0.1: all positive -> rows 0 and 2 right.
    expect(accuracy([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5], 0.1)).toBe(0.5);
  });

  test('is NaN for no rows', () => {
    expect(accuracy([], [])).toBeNaN();
  });
});

describe('classificationMetrics', () => {
  test('combines the metrics for one evaluation', () => {
    const labels = [1, 0, 1, 0];
    const probabilities = [0.9, 0.2, 0.6, 0.5];
    const m = classificationMetrics(labels, probabilities);
    // Positives 0.9 and 0.6 both beat negatives 0.2 and 0.5.
    expect(m.auc).toBe(1);
    expect(m.logLoss).toBeCloseTo(0.3831192, 6);
    expect(m.accuracy).toBe(0.75);
    expect(m.positiveRate).toBe(0.5);
    expect(m.rows).toBe(4);
  });

  test('reports NaN rates for an empty evaluation', () => {
    const m = classificationMetrics([], []);
    expect(m.rows).toBe(0);
    expect(m.positiveRate).toBeNaN();
    expect(m.auc).toBeNaN();
    expect(m.logLoss).toBeNaN();
    expect(m.accuracy).toBeNaN();
  });
});
