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
  const span = max - min + 1;
  const n = Math.min(count, span);
  const ranges: KeyRange[] = [];
  for (let i = 0; i < n; i++) {
    const lo = min + Math.floor((span * i) / n);
    const hi = min + Math.floor((span * (i + 1)) / n);
    ranges.push({ partition: i, lo, hi });
  }
  return ranges;
}
