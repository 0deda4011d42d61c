import type { LabelRule } from '../spec/pipeline-spec';
import { upgradeTransform, type FittedLabel, type FittedTransform } from './transform-format';

/**
 * What a model predicts, decided by the label: the probability of a yes (binary), a probability per
 * class (multiclass), or the label's value (regression). The model's output for each task:
 *   binary      [rows, 1]  sigmoid probability that the label is 1
 *   multiclass  [rows, C]  softmax probabilities in the fitted label's class order
 *   regression  [rows, 1]  the standardised value, (y - mean) / std of the train split
 */
export type Task = 'binary' | 'multiclass' | 'regression';

/** The task of a label rule (the spec's) or of a fitted label (a transform's); no `task` is binary. */
export function taskOf(rule: LabelRule | FittedLabel): Task {
  return 'task' in rule ? rule.task : 'binary';
}

/** The model's output layer for a transform's label: its task, its width, and the class names of a multiclass label. */
export interface LabelHead {
  task: Task;
  /** Output units: the class count for multiclass, else 1. */
  units: number;
  /** Multiclass only: the class names (values as text), in output order. */
  classes?: string[];
}

/** The head of any transform format (v1 and v2 without a task are binary). */
export function labelHead(transform: FittedTransform): LabelHead {
  const label = upgradeTransform(transform).label;
  if (!('task' in label)) return { task: 'binary', units: 1 };
  if (label.task === 'regression') return { task: 'regression', units: 1 };
  return { task: 'multiclass', units: label.classes.length, classes: label.classes.map(String) };
}

/** A multiclass prediction: the most probable class, and every class's probability. */
export interface ClassPrediction {
  class: string;
  probabilities: Record<string, number>;
}

/** One row's prediction: a probability (binary), a ClassPrediction (multiclass), or a value in the label's units (regression). */
export type Prediction = number | ClassPrediction;

/** Index of the largest of `units` values from `at` (the first of tied ones). */
export function argmax(values: ArrayLike<number>, at: number, units: number): number {
  let best = 0;
  for (let k = 1; k < units; k++) if (values[at + k]! > values[at + best]!) best = k;
  return best;
}

/**
 * The model's outputs for `rows` rows (rows × units, row-major) as predictions: per row the
 * probability of a binary label, the class and class probabilities of a multiclass one, the
 * de-standardised value of a regression one (y = output · std + mean).
 */
export function decodeOutputs(transform: FittedTransform, outputs: Float32Array, rows: number, units: number): Prediction[] {
  const head = labelHead(transform);
  if (units !== head.units) throw new Error(`the model gives ${units} outputs per row, but the ${head.task} label needs ${head.units}`);
  if (outputs.length < rows * units) throw new Error(`expected ${rows} × ${units} outputs, got ${outputs.length}`);
  const out: Prediction[] = new Array<Prediction>(rows);
  switch (head.task) {
    case 'binary':
      for (let r = 0; r < rows; r++) out[r] = outputs[r]!;
      break;
    case 'regression': {
      const label = upgradeTransform(transform).label as Extract<FittedLabel, { task: 'regression' }>;
      for (let r = 0; r < rows; r++) out[r] = outputs[r]! * label.std + label.mean;
      break;
    }
    case 'multiclass': {
      const classes = head.classes!;
      for (let r = 0; r < rows; r++) {
        const at = r * units;
        const probabilities: Record<string, number> = {};
        for (let k = 0; k < units; k++) probabilities[classes[k]!] = outputs[at + k]!;
        out[r] = { class: classes[argmax(outputs, at, units)]!, probabilities };
      }
      break;
    }
  }
  return out;
}

/** What the model's output is, in words (the model server's metadata). */
export function describeOutput(transform: FittedTransform): string {
  const label = upgradeTransform(transform).label;
  if (!('task' in label)) {
    const what = 'greaterThan' in label ? `${label.column} > ${label.greaterThan}` : `${label.column} in ${JSON.stringify(label.oneOf)}`;
    return `probability that ${what}`;
  }
  if (label.task === 'regression') return `predicted ${label.column}, in the column's own units`;
  return `{"class": the most probable of the ${label.classes.length} classes of ${label.column}, "probabilities": {class: probability}}`;
}
