import type { ClassMetrics, MulticlassMetrics } from '../../../contracts/refs';
import { argmax } from '../../features/label-task';

/** Probabilities are clipped to [EPS, 1 - EPS] in the log loss, as the binary log loss does. */
const EPS = 1e-7;

/**
 * The mergeable state of a multiclass label: the confusion matrix (true class × predicted class,
 * predicted = the most probable, ties to the lowest index) and the log loss summed in float64, so
 * no row is kept. Counts merge exactly; the log loss sum by float addition.
 */
export interface MulticlassState {
  task: 'multiclass';
  /** Class names in output order. */
  classes: string[];
  /** confusion[t * C + p]: rows of true class t predicted as p; whole numbers. */
  confusion: Float64Array;
  /** Σ −ln p(true class), p clipped. */
  logLossSum: number;
  rows: number;
}

export function emptyMulticlassState(classes: readonly string[]): MulticlassState {
  return { task: 'multiclass', classes: [...classes], confusion: new Float64Array(classes.length * classes.length), logLossSum: 0, rows: 0 };
}

/** Adds rows in place. `probabilities`: rows × C, row-major, in class order; `labels`: each row's class index. */
export function addMulticlassRows(state: MulticlassState, probabilities: ArrayLike<number>, labels: ArrayLike<number>, rows: number): void {
  const c = state.classes.length;
  for (let r = 0; r < rows; r++) {
    const truth = labels[r]!;
    if (!Number.isInteger(truth) || truth < 0 || truth >= c) throw new Error(`row ${r} has the class index ${truth}; the label has ${c} classes`);
    const at = r * c;
    state.confusion[truth * c + argmax(probabilities, at, c)]!++;
    const p = Math.min(1 - EPS, Math.max(EPS, probabilities[at + truth]!));
    state.logLossSum -= Math.log(p);
  }
  state.rows += rows;
}

export function mergeMulticlassStates(a: MulticlassState, b: MulticlassState): MulticlassState {
  if (a.classes.length !== b.classes.length || a.classes.some((c, k) => c !== b.classes[k])) {
    throw new Error(`cannot merge multiclass states of different classes: [${a.classes.join(', ')}] and [${b.classes.join(', ')}]`);
  }
  const confusion = new Float64Array(a.confusion.length);
  for (let i = 0; i < confusion.length; i++) confusion[i] = a.confusion[i]! + b.confusion[i]!;
  return { task: 'multiclass', classes: [...a.classes], confusion, logLossSum: a.logLossSum + b.logLossSum, rows: a.rows + b.rows };
}

/**
 * The figures: accuracy (= micro F1), mean log loss, per class precision, recall, F1 and support
 * (precision 0 for a class never predicted, recall 0 for one without rows), and macro F1 over the
 * classes that are in the rows or predicted.
 */
export function multiclassMetricsOf(state: MulticlassState): MulticlassMetrics {
  const c = state.classes.length;
  const n = state.rows;
  const confusion = state.confusion;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  let f1Sum = 0;
  let present = 0;
  for (let k = 0; k < c; k++) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < c; j++) {
      support += confusion[k * c + j]!;
      predicted += confusion[j * c + k]!;
    }
    const tp = confusion[k * c + k]!;
    correct += tp;
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ class: state.classes[k]!, precision, recall, f1, support });
    // A class neither in the test split nor ever predicted has no F1 to speak of: it is left out of the mean.
    if (support > 0 || predicted > 0) {
      f1Sum += f1;
      present++;
    }
  }
  const accuracy = n > 0 ? correct / n : Number.NaN;
  return {
    task: 'multiclass',
    accuracy,
    logLoss: n > 0 ? state.logLossSum / n : Number.NaN,
    macroF1: present > 0 ? f1Sum / present : Number.NaN,
    // Every row is one prediction and one truth, so micro precision = micro recall = accuracy.
    microF1: accuracy,
    rows: n,
    perClass,
  };
}

/** The confusion matrix as rows of counts: [actual][predicted], class order. */
export function confusionRows(state: MulticlassState): number[][] {
  const c = state.classes.length;
  return Array.from({ length: c }, (_, t) => Array.from(state.confusion.subarray(t * c, (t + 1) * c)));
}
