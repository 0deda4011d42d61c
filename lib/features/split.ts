/**
 * Deterministic train/test assignment by row key: the same key lands in the same split in every
 * run, on every worker, whatever the partitioning.
 */
export function hashKey(key: number, seed: number): number {
  // splitmix-style finaliser over the key's low and high 32 bits, mixed with the seed.
  const lo = key >>> 0;
  const hi = Math.floor(key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ seed, 0x9e3779b1) ^ Math.imul(hi + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function isTestRow(key: number, seed: number, testFraction: number): boolean {
  return hashKey(key, seed) / 4294967296 < testFraction;
}
