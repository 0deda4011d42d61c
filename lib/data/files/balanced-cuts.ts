/**
 * Where to cut `total` units (rows, bytes) into `count` near-equal runs: the start of runs 1..count-1.
 * Fewer cuts come back when there are fewer units than runs.
 */
export function balancedCuts(total: number, count: number): number[] {
  const runs = Math.min(count, total);
  return Array.from({ length: Math.max(runs - 1, 0) }, (_, i) => Math.floor(((i + 1) * total) / runs));
}
