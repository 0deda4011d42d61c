import type { EvaluationMetrics } from '../../../contracts/refs';
import { labelHead } from '../../features/label-task';
import { upgradeTransform, type FittedRegressionLabel, type FittedTransform } from '../../features/transform-format';
import { binaryMetricsOf } from './binary-metrics';
import { BinaryStateBuilder, binaryRows, binaryStateOf, emptyBinaryState, mergeBinaryStates, type BinaryState } from './binary-state';
import { addMulticlassRows, emptyMulticlassState, mergeMulticlassStates, multiclassMetricsOf, type MulticlassState } from './multiclass-state';
import { addRegressionRows, emptyRegressionState, mergeRegressionStates, regressionMetricsOf, type LabelScale, type RegressionState } from './regression-state';

/**
 * The mergeable metric state of some test rows, tagged with the label's task. mergeStates(a, b)
 * of the states of two sets of rows is the state of their union, so a shard's state can be
 * computed where the shard is, and the states merged into the figures of the whole split.
 */
export type MetricState = BinaryState | MulticlassState | RegressionState;

/** What a state needs to know of the label: its task, the classes (multiclass), the scale (regression). */
export type StateHead = { task: 'binary' } | { task: 'multiclass'; classes: string[] } | { task: 'regression'; scale: LabelScale };

/** The head of a transform's label (any transform format). */
export function stateHeadOf(transform: FittedTransform): StateHead {
  const head = labelHead(transform);
  switch (head.task) {
    case 'binary':
      return { task: 'binary' };
    case 'multiclass':
      return { task: 'multiclass', classes: head.classes! };
    case 'regression': {
      const label = upgradeTransform(transform).label as FittedRegressionLabel;
      return { task: 'regression', scale: { mean: label.mean, std: label.std } };
    }
  }
}

/** Output units per row the model gives for the head. */
export function unitsOf(head: StateHead): number {
  return head.task === 'multiclass' ? head.classes.length : 1;
}

/** The head a state was built for. */
export function headOfState(state: MetricState): StateHead {
  switch (state.task) {
    case 'binary':
      return { task: 'binary' };
    case 'multiclass':
      return { task: 'multiclass', classes: [...state.classes] };
    case 'regression':
      return { task: 'regression', scale: { ...state.scale } };
  }
}

/** Why a state does not belong to a head (another task, other classes, another scale), or null when it does. */
export function headMismatch(head: StateHead, state: MetricState): string | null {
  if (head.task !== state.task) return `it is a ${state.task} state, but the transform's label is ${head.task}`;
  if (head.task === 'multiclass' && state.task === 'multiclass') {
    if (head.classes.length !== state.classes.length || head.classes.some((c, k) => c !== state.classes[k])) {
      return `its classes are [${state.classes.join(', ')}], but the transform's label has [${head.classes.join(', ')}]`;
    }
  }
  if (head.task === 'regression' && state.task === 'regression') {
    if (head.scale.mean !== state.scale.mean || head.scale.std !== state.scale.std) {
      return `its label scale (mean ${state.scale.mean}, std ${state.scale.std}) is not the transform's (mean ${head.scale.mean}, std ${head.scale.std})`;
    }
  }
  return null;
}

export function emptyState(head: StateHead): MetricState {
  switch (head.task) {
    case 'binary':
      return emptyBinaryState();
    case 'multiclass':
      return emptyMulticlassState(head.classes);
    case 'regression':
      return emptyRegressionState(head.scale);
  }
}

/**
 * Scored rows as predictSplit gives them: the model's outputs (rows × units, row-major) and the
 * encoded labels (0/1, the class index, or the standardised value).
 */
export interface ScoredBatch {
  outputs: Float32Array;
  labels: Float32Array;
  rows: number;
  units: number;
}

function checkUnits(state: MetricState, units: number): void {
  const want = state.task === 'multiclass' ? state.classes.length : 1;
  if (units !== want) throw new Error(`the model gives ${units} outputs per row, but the ${state.task} label needs ${want}`);
}

/**
 * The state with the batch's rows added. Multiclass and regression states are updated in place and
 * returned; a binary state is immutable, and a new one is returned: use the result. To add many
 * batches, StateAccumulator costs less (a binary merge per batch costs the table's size).
 */
export function addBatch(state: MetricState, batch: ScoredBatch): MetricState {
  checkUnits(state, batch.units);
  switch (state.task) {
    case 'binary':
      return mergeBinaryStates(state, binaryStateOf(batch.outputs, batch.labels, batch.rows));
    case 'multiclass':
      addMulticlassRows(state, batch.outputs, batch.labels, batch.rows);
      return state;
    case 'regression':
      addRegressionRows(state, batch.labels, batch.outputs, batch.rows, state.scale);
      return state;
  }
}

/** The state of the union of the rows of `a` and `b`; neither is changed. Both must be of the same head. */
export function mergeStates(a: MetricState, b: MetricState): MetricState {
  if (a.task === 'binary' && b.task === 'binary') return mergeBinaryStates(a, b);
  if (a.task === 'multiclass' && b.task === 'multiclass') return mergeMulticlassStates(a, b);
  if (a.task === 'regression' && b.task === 'regression') return mergeRegressionStates(a, b);
  throw new Error(`cannot merge a ${a.task} metric state with a ${b.task} one: they come from different labels`);
}

/** The headline metrics of the label's task. */
export function metricsOf(state: MetricState): EvaluationMetrics {
  switch (state.task) {
    case 'binary':
      return binaryMetricsOf(state);
    case 'multiclass':
      return multiclassMetricsOf(state);
    case 'regression':
      return regressionMetricsOf(state);
  }
}

export function rowsOf(state: MetricState): number {
  return state.task === 'binary' ? binaryRows(state) : state.rows;
}

/** Adds batch after batch to one state; binary tables are merged in a balanced order (BinaryStateBuilder). */
export class StateAccumulator {
  private readonly binary: BinaryStateBuilder | null;
  private other: MulticlassState | RegressionState | null;

  constructor(head: StateHead) {
    const empty = emptyState(head);
    this.binary = empty.task === 'binary' ? new BinaryStateBuilder() : null;
    this.other = empty.task === 'binary' ? null : empty;
  }

  add(batch: ScoredBatch): void {
    if (this.binary) {
      if (batch.units !== 1) throw new Error(`the model gives ${batch.units} outputs per row, but the binary label needs 1`);
      this.binary.add(binaryStateOf(batch.outputs, batch.labels, batch.rows));
    } else addBatch(this.other!, batch);
  }

  /** The state of every row added so far (adding may go on). */
  state(): MetricState {
    return this.binary ? this.binary.state() : this.other!;
  }
}
