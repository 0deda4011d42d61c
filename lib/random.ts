/**
 * Seeded randomness. Every random choice in a pipeline takes a seed derived from the run seed and
 * where it happens (stage, shard, epoch), so a re-run, or a resume after a crash, draws the same
 * numbers.
 */
export function deriveSeed(runSeed: number, ...where: Array<string | number>): number {
  let h = (runSeed ^ 0x811c9dc5) >>> 0;
  for (const part of where) {
    const text = String(part);
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x2f, 0x01000193) >>> 0; // separator, so ("ab","c") != ("a","bc")
  }
  return h;
}

/** mulberry32: small, fast, good enough for shuffling. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates in place. */
export function shuffleInPlace<T>(items: T[] | Uint32Array, random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
}
