/**
 * The seeded randomness of permutation importance: a uniform sample of the test rows that never
 * holds more than `capacity` rows (the split can be far larger than memory allows), and the
 * shuffle of one feature's codes across the sampled rows.
 */

/**
 * Reservoir sampling (Vitter's Algorithm R) over rows of feature codes and labels, streamed batch
 * by batch. While fewer than `capacity` rows have been offered, every row is kept in stream order;
 * after that, row i (0-based) replaces a random slot with probability capacity / (i + 1), so each
 * row ends up in the sample with the same probability and exactly min(seen, capacity) rows are
 * kept. The same stream and the same `random` give the same sample.
 */
export class RowReservoir {
  /** rows × featureCount codes, row-major; only the first `rows` rows are meaningful. */
  readonly codes: Float32Array;
  /** The kept rows' encoded labels. */
  readonly labels: Float32Array;
  /** Rows offered so far. */
  seen = 0;

  constructor(
    readonly capacity: number,
    readonly featureCount: number,
    private readonly random: () => number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`a row sample needs a capacity of at least 1 row, got ${capacity}`);
    this.codes = new Float32Array(capacity * featureCount);
    this.labels = new Float32Array(capacity);
  }

  /** Rows kept: min(seen, capacity). */
  get rows(): number {
    return Math.min(this.seen, this.capacity);
  }

  /** Offers `rows` rows (codes rows × featureCount, row-major, and their labels). */
  add(codes: Float32Array, labels: Float32Array, rows: number): void {
    const f = this.featureCount;
    for (let r = 0; r < rows; r++) {
      const i = this.seen++;
      // Below capacity every row is kept, and no random number is drawn, so a split that fits is
      // taken whole and in file order.
      const slot = i < this.capacity ? i : Math.floor(this.random() * (i + 1));
      if (slot >= this.capacity) continue;
      this.codes.set(codes.subarray(r * f, (r + 1) * f), slot * f);
      this.labels[slot] = labels[r]!;
    }
  }
}

/** A copy of column `feature` of a rows × featureCount matrix (to restore it after a shuffle). */
export function copyColumn(codes: Float32Array, rows: number, featureCount: number, feature: number): Float32Array {
  const column = new Float32Array(rows);
  for (let r = 0; r < rows; r++) column[r] = codes[r * featureCount + feature]!;
  return column;
}

/** Writes `column` back as column `feature` of a rows × featureCount matrix. */
export function writeColumn(codes: Float32Array, rows: number, featureCount: number, feature: number, column: Float32Array): void {
  for (let r = 0; r < rows; r++) codes[r * featureCount + feature] = column[r]!;
}

/**
 * Fisher–Yates shuffle of column `feature` of a rows × featureCount matrix, in place: the rows keep
 * their other codes and labels and get another row's code for this feature, which breaks the
 * feature's link to the label while keeping its distribution.
 */
export function shuffleColumn(codes: Float32Array, rows: number, featureCount: number, feature: number, random: () => number): void {
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = i * featureCount + feature;
    const b = j * featureCount + feature;
    const tmp = codes[a]!;
    codes[a] = codes[b]!;
    codes[b] = tmp;
  }
}
