import { StateAccumulator, emptyState, headOfState, mergeStates, rowsOf, type MetricState, type ScoredBatch, type StateHead } from './metric-state';

/** One slice feature's states: per code the feature takes in the rows (codes ascending), the state of those rows. */
export interface SliceStates {
  feature: string;
  values: Map<number, MetricState>;
}

/** What one evaluateShard writes: the state of all the shard's test rows, and of each slice feature's values. */
export interface EvaluationState {
  overall: MetricState;
  slices: SliceStates[];
}

/** A slice feature: its name and its index among the transform's features (the column of `codes`). */
export interface SliceColumn {
  feature: string;
  index: number;
}

/** Scored rows with their feature codes (rows × featureCount, as the encoded shard stores them). */
export interface CodedBatch extends ScoredBatch {
  codes: Float32Array;
  featureCount: number;
}

/**
 * Accumulates the state of every row and, per slice feature, of the rows of each of its codes.
 * Rows are grouped by code per batch, so a slice costs one pass over its column and one gather.
 */
export class EvaluationAccumulator {
  private readonly overall: StateAccumulator;
  private readonly slices: Array<{ column: SliceColumn; values: Map<number, StateAccumulator> }>;

  constructor(
    private readonly head: StateHead,
    columns: readonly SliceColumn[],
  ) {
    this.overall = new StateAccumulator(head);
    this.slices = columns.map((column) => ({ column, values: new Map() }));
  }

  add(batch: CodedBatch): void {
    this.overall.add(batch);
    if (this.slices.length === 0) return;
    const { rows, units, featureCount } = batch;
    if (batch.codes.length < rows * featureCount) throw new Error(`${rows} rows need ${rows * featureCount} codes, got ${batch.codes.length}`);
    for (const slice of this.slices) {
      const groups = new Map<number, number[]>();
      for (let r = 0; r < rows; r++) {
        const code = batch.codes[r * featureCount + slice.column.index]!;
        let group = groups.get(code);
        if (group === undefined) groups.set(code, (group = []));
        group.push(r);
      }
      for (const [code, picked] of groups) {
        const outputs = new Float32Array(picked.length * units);
        const labels = new Float32Array(picked.length);
        picked.forEach((r, i) => {
          outputs.set(batch.outputs.subarray(r * units, (r + 1) * units), i * units);
          labels[i] = batch.labels[r]!;
        });
        let acc = slice.values.get(code);
        if (acc === undefined) slice.values.set(code, (acc = new StateAccumulator(this.head)));
        acc.add({ outputs, labels, rows: picked.length, units });
      }
    }
  }

  state(): EvaluationState {
    return {
      overall: this.overall.state(),
      slices: this.slices.map(({ column, values }) => ({
        feature: column.feature,
        values: new Map([...values.entries()].sort((a, b) => a[0] - b[0]).map(([code, acc]) => [code, acc.state()])),
      })),
    };
  }
}

/** The state of the union of two sets of rows: overall and slice by slice (both must slice by the same features). */
export function mergeEvaluationStates(a: EvaluationState, b: EvaluationState): EvaluationState {
  const names = (s: EvaluationState): string => s.slices.map((x) => x.feature).join(', ');
  if (names(a) !== names(b))
    throw new Error(`cannot merge metric states sliced by [${names(a)}] and by [${names(b)}]: evaluate every shard with the same slices`);
  return {
    overall: mergeStates(a.overall, b.overall),
    slices: a.slices.map((slice, i) => {
      const other = b.slices[i]!.values;
      const codes = [...new Set([...slice.values.keys(), ...other.keys()])].sort((x, y) => x - y);
      const values = new Map<number, MetricState>();
      for (const code of codes) {
        const x = slice.values.get(code);
        const y = other.get(code);
        values.set(code, x && y ? mergeStates(x, y) : (x ?? y)!);
      }
      return { feature: slice.feature, values };
    }),
  };
}

/**
 * Problems of a state's rows: every slice feature partitions the rows, so its values' rows add up
 * to the overall rows, and every value's state is of the overall head. An empty list when sound.
 */
export function evaluationStateProblems(state: EvaluationState): string[] {
  const problems: string[] = [];
  const rows = rowsOf(state.overall);
  const head = JSON.stringify(headOfState(state.overall));
  for (const slice of state.slices) {
    let sum = 0;
    for (const [code, value] of slice.values) {
      sum += rowsOf(value);
      if (JSON.stringify(headOfState(value)) !== head) problems.push(`slice "${slice.feature}" value ${code} is a state of another label`);
    }
    if (sum !== rows) problems.push(`slice "${slice.feature}" holds ${sum} rows, but the state has ${rows}`);
  }
  return problems;
}

/** An empty evaluation state (no rows) for a head and slice features. */
export function emptyEvaluationState(head: StateHead, features: readonly string[]): EvaluationState {
  return { overall: emptyState(head), slices: features.map((feature) => ({ feature, values: new Map() })) };
}
