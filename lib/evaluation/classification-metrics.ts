import type { BinaryMetrics } from '../../contracts/refs';

/**
 * ROC-AUC by the rank-sum (Mann–Whitney U) formula, with tied scores sharing their average rank.
 * Returns NaN when only one class is present (AUC is undefined there).
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n) throw new Error(`rocAuc: ${n} labels but ${scores.length} scores`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSumPositives = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!]! > 0.5) {
        positives++;
        rankSumPositives += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean binary cross-entropy, with probabilities clipped away from 0 and 1. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>, eps = 1e-7): number {
  const n = labels.length;
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i]!));
    sum += labels[i]! > 0.5 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / n;
}

export function accuracy(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): number {
  const n = labels.length;
  if (n === 0) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < n; i++) if (probabilities[i]! >= threshold === labels[i]! > 0.5) correct++;
  return correct / n;
}

/** The binary label's figures: AUC, log loss, accuracy at 0.5, and the share of positive rows. */
export function classificationMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>): BinaryMetrics {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > 0.5) positives++;
  return {
    task: 'binary',
    auc: rocAuc(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    accuracy: accuracy(labels, probabilities),
    positiveRate: labels.length ? positives / labels.length : Number.NaN,
    rows: labels.length,
  };
}
