/**
 * How k folds are cut out of each stratum's train rows, as scikit-learn's StratifiedKFold balances
 * them, with the split hash standing in for its shuffle: within a stratum the rows are taken in hash
 * order and each fold gets a contiguous run of them.
 */

const TWO_32 = 4294967296;

/**
 * Rows of each stratum in each fold ([stratum][fold]), as StratifiedKFold allocates them: the strata
 * laid end to end in order, position p goes to fold p mod k. Each stratum's folds then differ by at
 * most one row, and so do the folds' totals (the remainders rotate from one stratum to the next).
 * One stratum is KFold: the first n mod k folds have one row more.
 */
export function foldAllocation(counts: readonly number[], k: number): number[][] {
  // Positions p < x with p mod k = j.
  const below = (x: number, j: number): number => Math.max(0, Math.ceil((x - j) / k));
  let offset = 0;
  return counts.map((n) => {
    const sizes = Array.from({ length: k }, (_, j) => below(offset + n, j) - below(offset, j));
    offset += n;
    return sizes;
  });
}

/**
 * The k − 1 cut points of one stratum: its sorted hashes cut into runs of `sizes` rows, each cut the
 * first hash of the next run (2^32, above every hash, where the rest of the runs are empty). Rows with
 * the very same hash cannot be parted, so a run ending in a tie (a 32-bit collision) may gain a row.
 */
export function foldCuts(sorted: Uint32Array, sizes: readonly number[]): number[] {
  const cuts: number[] = [];
  let start = 0;
  for (let j = 1; j < sizes.length; j++) {
    start += sizes[j - 1]!;
    cuts.push(start < sorted.length ? sorted[start]! : TWO_32);
  }
  return cuts;
}

/** A growing list of 32-bit hashes: a stratum's train rows, 4 bytes each. */
export class HashList {
  private data = new Uint32Array(1024);
  length = 0;

  push(hash: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = hash;
  }

  /** The hashes in ascending order (the list is sorted in place and handed out). */
  sorted(): Uint32Array {
    return this.data.subarray(0, this.length).sort();
  }
}
