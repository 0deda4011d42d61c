/** A half-open key range [lo, hi) read by one ingest activity. */
export interface KeyRange {
  partition: number;
  lo: number;
  hi: number;
}

/**
 * Splits [min, max] into `count` contiguous, non-overlapping key ranges of near-equal width that
 * cover every key exactly once. Fewer ranges come back when there are fewer keys than `count`.
 */
export function planKeyRanges(min: number, max: number, count: number): KeyRange[] {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw new Error(`key bounds must be safe integers, got ${min}..${max}`);
  if (max < min) return [];
  if (!Number.isInteger(count) || count < 1) throw new Error(`partition count must be a positive integer, got ${count}`);
  // BigInt: for wide key spaces span * i exceeds 2^53 and float rounding would drop or repeat keys.
  const span = BigInt(max) - BigInt(min) + 1n;
  const n = span < BigInt(count) ? Number(span) : count;
  const boundary = (i: number): number => Number(BigInt(min) + (span * BigInt(i)) / BigInt(n));
  const ranges: KeyRange[] = [];
  for (let i = 0; i < n; i++) ranges.push({ partition: i, lo: boundary(i), hi: boundary(i + 1) });
  return ranges;
}
