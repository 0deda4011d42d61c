import { PipelineInputError } from '../../errors';

/**
 * The exact, mergeable state of a binary label's scores: every distinct score the model gave (it
 * outputs float32, so the distinct values are finite in number and compare exactly), ascending,
 * with how many positive and negative rows got it. Every binary figure (AUC, average precision,
 * log loss, Brier, the confusion at any threshold, the curves, calibration) is a function of this
 * table, so computing it from a merge of shards' tables gives the very figures of all rows at once.
 *
 * The table is canonical: one entry per distinct score, scores strictly ascending, -0 stored as 0,
 * counts as whole numbers. Merging is a merge of sorted runs that sums the counts of equal scores,
 * so merges in any order and grouping give identical arrays.
 */
export interface BinaryState {
  task: 'binary';
  /** Distinct scores, strictly ascending. */
  scores: Float32Array;
  /** Positive rows (label 1) per score; whole numbers (Float64, exact to 2^53). */
  positives: Float64Array;
  /** Negative rows (label 0) per score. */
  negatives: Float64Array;
}

export function emptyBinaryState(): BinaryState {
  return { task: 'binary', scores: new Float32Array(0), positives: new Float64Array(0), negatives: new Float64Array(0) };
}

export function binaryRows(state: BinaryState): number {
  let n = 0;
  for (let i = 0; i < state.scores.length; i++) n += state.positives[i]! + state.negatives[i]!;
  return n;
}

/**
 * The state of `rows` scored rows: `scores[r]` the model's probability, `labels[r]` the encoded
 * label (positive when > 0.5, as the metrics always read it). Positive and negative scores are
 * sorted apart (typed-array sorts are numeric and fast), then merged into one table.
 */
export function binaryStateOf(scores: ArrayLike<number>, labels: ArrayLike<number>, rows: number): BinaryState {
  let positives = 0;
  for (let r = 0; r < rows; r++) if (labels[r]! > 0.5) positives++;
  const pos = new Float32Array(positives);
  const neg = new Float32Array(rows - positives);
  let p = 0;
  let q = 0;
  for (let r = 0; r < rows; r++) {
    const s = scores[r]!;
    // NaN has no place in a sorted table (it equals nothing, not even itself); a model that gives
    // one has non-finite weights, and its figures would be meaningless.
    if (Number.isNaN(s)) {
      throw new PipelineInputError(
        `the model scored a test row NaN: its weights are not finite (training diverged); lower model.learningRate or normalise the features, then run again`,
      );
    }
    // `+ 0` turns -0 into 0, so that equal scores are one entry whichever sign of zero came first.
    if (labels[r]! > 0.5) pos[p++] = s + 0;
    else neg[q++] = s + 0;
  }
  pos.sort();
  neg.sort();
  return mergeBinaryStates(runOf(pos, true), runOf(neg, false));
}

/** One label's sorted scores as a table: equal scores collapsed into a count. */
function runOf(sorted: Float32Array, positive: boolean): BinaryState {
  const scores = new Float32Array(sorted.length);
  const counts = new Float64Array(sorted.length);
  let k = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (k >= 0 && scores[k] === sorted[i]) counts[k]!++;
    else {
      scores[++k] = sorted[i]!;
      counts[k] = 1;
    }
  }
  const n = k + 1;
  const none = new Float64Array(n);
  return {
    task: 'binary',
    scores: scores.slice(0, n),
    positives: positive ? counts.slice(0, n) : none,
    negatives: positive ? none : counts.slice(0, n),
  };
}

/** The merge of two tables: sorted runs merged, counts of equal scores summed. Exact and canonical. */
export function mergeBinaryStates(a: BinaryState, b: BinaryState): BinaryState {
  const na = a.scores.length;
  const nb = b.scores.length;
  if (na === 0) return copyOf(b);
  if (nb === 0) return copyOf(a);
  const scores = new Float32Array(na + nb);
  const positives = new Float64Array(na + nb);
  const negatives = new Float64Array(na + nb);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < na && j < nb) {
    const sa = a.scores[i]!;
    const sb = b.scores[j]!;
    if (sa < sb) {
      scores[k] = sa;
      positives[k] = a.positives[i]!;
      negatives[k++] = a.negatives[i++]!;
    } else if (sb < sa) {
      scores[k] = sb;
      positives[k] = b.positives[j]!;
      negatives[k++] = b.negatives[j++]!;
    } else {
      scores[k] = sa;
      positives[k] = a.positives[i]! + b.positives[j]!;
      negatives[k++] = a.negatives[i++]! + b.negatives[j++]!;
    }
  }
  for (; i < na; i++, k++) {
    scores[k] = a.scores[i]!;
    positives[k] = a.positives[i]!;
    negatives[k] = a.negatives[i]!;
  }
  for (; j < nb; j++, k++) {
    scores[k] = b.scores[j]!;
    positives[k] = b.positives[j]!;
    negatives[k] = b.negatives[j]!;
  }
  return { task: 'binary', scores: scores.slice(0, k), positives: positives.slice(0, k), negatives: negatives.slice(0, k) };
}

function copyOf(s: BinaryState): BinaryState {
  return { task: 'binary', scores: s.scores.slice(), positives: s.positives.slice(), negatives: s.negatives.slice() };
}

/**
 * Tables added batch by batch without merging each small batch into one big table (which would cost
 * the table's size per batch): a stack of tables merged like a binary counter, so each row takes
 * part in O(log batches) merges. The result is the same canonical table whatever the grouping.
 */
export class BinaryStateBuilder {
  private readonly stack: BinaryState[] = [];

  add(state: BinaryState): void {
    this.stack.push(state);
    while (this.stack.length >= 2) {
      const top = this.stack[this.stack.length - 1]!;
      const below = this.stack[this.stack.length - 2]!;
      if (below.scores.length > 2 * top.scores.length) break;
      this.stack.splice(this.stack.length - 2, 2, mergeBinaryStates(below, top));
    }
  }

  state(): BinaryState {
    let out = emptyBinaryState();
    for (let i = this.stack.length - 1; i >= 0; i--) out = mergeBinaryStates(this.stack[i]!, out);
    this.stack.length = 0;
    if (out.scores.length > 0) this.stack.push(out);
    return out;
  }
}
