import type { FoldRule } from '../../contracts/cross-validation';
import { fmix32 } from './fmix32';

/**
 * Deterministic train / test / validation assignment: the same row lands in the same split in every
 * run, on every worker, whatever the partitioning.
 */
export function hashKey(key: number, seed: number): number {
  // splitmix-style finaliser over the key's low and high 32 bits, mixed with the seed.
  const lo = key >>> 0;
  const hi = Math.floor(key / 4294967296) >>> 0;
  return fmix32(Math.imul(lo ^ seed, 0x9e3779b1) ^ Math.imul(hi + 0x7f4a7c15, 0x85ebca6b));
}

export function isTestRow(key: number, seed: number, testFraction: number): boolean {
  return hashKey(key, seed) / 4294967296 < testFraction;
}

/**
 * The code an encoded shard stores for each split (its `is_test` column). `excluded` marks the rows a
 * cross-validation fold leaves out (the outer test split): every reader picks rows by their exact
 * code, so they are neither trained on nor evaluated, and no row count includes them.
 */
export const SPLIT_CODE = { train: 0, test: 1, validation: 2, excluded: 3 } as const;
export type SplitName = keyof typeof SPLIT_CODE;
export type SplitCode = (typeof SPLIT_CODE)[SplitName];

/**
 * How rows are split, as stored with the fitted transform (and so applied identically to every
 * shard). By hash: a row is test when hashKey(row id, seed) falls below the test threshold and
 * validation below the validation one (both out of 2^32); stratified, each label class has its own
 * thresholds, so each class is split in the same proportions. By time: rows at or after `testFrom`
 * are test, rows from `validationFrom` on (and before `testFrom`) validation, the rest train.
 * `testFraction` and `seed` alone are the split of transforms written before this rule existed.
 */
export interface SplitRule {
  testFraction: number;
  seed: number;
  validationFraction?: number;
  /** Per label class (binary 0, 1; multiclass the class index): hash thresholds, out of 2^32. */
  strata?: Array<{ test: number; validation: number }>;
  /** The time split: its timestamp column and the first instant of each held-out split (epoch ms). */
  time?: { column: string; testFrom: number; validationFrom: number };
  /** A cross-validation fold of the train rows above (see splitOf); absent in every transform but a fold's. */
  fold?: FoldRule;
}

const TWO_32 = 4294967296;

/** The spec's split before anything is learnt from the data: its fractions and seed (all a hash split needs). */
export function plainSplit(spec: { split: { testFraction: number; seed: number; validationFraction?: number | undefined } }): SplitRule {
  const { testFraction, seed, validationFraction } = spec.split;
  return { testFraction, seed, ...(validationFraction ? { validationFraction } : {}) };
}

/**
 * Where a row goes: `time` (epoch ms) is read only by a time split, `label` (0/1, class index) only by
 * a stratified one, `foldStratum` (the class index under rule.fold.strata) only by a stratified fold.
 * With a fold, the outer split is decided first: its test rows are excluded, its validation rows stay
 * validation, and its train rows are this fold's test rows when their fold is rule.fold.index, else train.
 */
export function splitOf(rule: SplitRule, rowId: number, time: number, label: number, foldStratum = 0): SplitCode {
  const outer = outerSplitOf(rule, rowId, time, label);
  const fold = rule.fold;
  if (fold === undefined || outer === SPLIT_CODE.validation) return outer;
  if (outer === SPLIT_CODE.test) return SPLIT_CODE.excluded;
  return foldOf(fold, hashKey(rowId, rule.seed), foldStratum) === fold.index ? SPLIT_CODE.test : SPLIT_CODE.train;
}

/**
 * The fold (0-based) of a train row with split hash `hash`: how many of its stratum's cut points are at
 * or below the hash. A stratum the plan has no cut points for cannot occur (ingest quarantines values
 * outside a listed label's classes, and the plan covers every class it found); it falls in stratum 0.
 */
export function foldOf(fold: Pick<FoldRule, 'bounds'>, hash: number, stratum: number): number {
  const cuts = fold.bounds[stratum] ?? fold.bounds[0]!;
  let index = 0;
  while (index < cuts.length && hash >= cuts[index]!) index++;
  return index;
}

/** The split without a fold: the only one there was before cross-validation. */
function outerSplitOf(rule: SplitRule, rowId: number, time: number, label: number): SplitCode {
  if (rule.time) {
    if (time >= rule.time.testFrom) return SPLIT_CODE.test;
    return time >= rule.time.validationFrom ? SPLIT_CODE.validation : SPLIT_CODE.train;
  }
  const h = hashKey(rowId, rule.seed);
  const stratum = rule.strata?.[label];
  const test = stratum ? stratum.test : rule.testFraction * TWO_32;
  const validation = stratum ? stratum.validation : (rule.testFraction + (rule.validationFraction ?? 0)) * TWO_32;
  if (h < test) return SPLIT_CODE.test;
  return h < validation ? SPLIT_CODE.validation : SPLIT_CODE.train;
}

/** Bins of the 32-bit hash a stratified split counts rows in: thresholds land within 1/65536 of the hash range. */
const HASH_BINS = 65536;

/**
 * Counts, per label class, how the rows' hashes spread over HASH_BINS bins, so that each class's
 * thresholds can cut exactly its own share (within a bin's rows) of test and validation rows.
 */
export class StratumCounter {
  /** Per class, created as classes appear: binary labels always have both. */
  private readonly bins: Uint32Array[] = [new Uint32Array(HASH_BINS), new Uint32Array(HASH_BINS)];

  constructor(private readonly seed: number) {}

  /** One row of class `label` (0/1, or a class index). */
  add(rowId: number, label: number): void {
    // Not a class (a value a multiclass label does not list): it is reported where the row is encoded.
    if (!(label >= 0)) return;
    const bins = (this.bins[label] ??= new Uint32Array(HASH_BINS));
    bins[hashKey(rowId, this.seed) >>> 16]!++;
  }

  /** Thresholds such that the class's rows below them are `testFraction` (and then `validationFraction`) of it, to a bin. */
  thresholds(testFraction: number, validationFraction: number): Array<{ test: number; validation: number }> {
    return Array.from({ length: this.bins.length }, (_, label) => {
      const bins = this.bins[label] ?? new Uint32Array(HASH_BINS);
      const total = bins.reduce((a, b) => a + b, 0);
      const cut = (share: number): number => {
        const want = Math.round(share * total);
        if (want <= 0) return 0;
        let seen = 0;
        for (let b = 0; b < HASH_BINS; b++) {
          seen += bins[b]!;
          if (seen >= want) return (b + 1) * HASH_BINS;
        }
        return TWO_32;
      };
      return { test: cut(testFraction), validation: cut(testFraction + validationFraction) };
    });
  }
}
