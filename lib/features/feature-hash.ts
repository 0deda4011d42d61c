/**
 * The hash behind `hashed` and `cross` features. Training (apply-transform, from the raw UTF-8 bytes
 * of an Arrow Utf8 column) and serving (from a JSON string, encoded with TextEncoder) hash the same
 * bytes with the same function, so a value lands in the same bucket in both. It is part of the
 * transform format: changing it would silently re-bucket every model trained before, so it may only
 * change with a new format version.
 *
 *   hashed: bucket = murmur3_x86_32(utf8(value), seed 0) mod buckets
 *   cross:  h = 0; for each column in order: h = murmur3_x86_32(utf8(value), seed h); bucket = h mod buckets
 *
 * MurmurHash3 x86 32-bit is Austin Appleby's public-domain function (the one in SMHasher, Guava's
 * murmur3_32_fixed, Python's mmh3.hash(..., signed=False)), so the buckets can be reproduced
 * outside Node. Chaining the seed keeps a cross order-sensitive and free of separator ambiguity
 * ("a|b","c" and "a","b|c" hash apart). NULL never reaches the hash: it has its own slot.
 */

import { fmix32 } from './fmix32';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3_x86_32 of bytes[start, end) with `seed`, as an unsigned 32-bit integer. */
export function murmur3(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed | 0;
  const length = end - start;
  const blocksEnd = start + (length & ~3);
  for (let i = start; i < blocksEnd; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocksEnd + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocksEnd + 1]! << 8;
    k ^= bytes[blocksEnd]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix32(h ^ length);
}

const utf8 = new TextEncoder();

/** murmur3 of a JS string's UTF-8 bytes: what a Utf8 column holds for the same text. */
export function murmur3Text(value: string, seed: number): number {
  const bytes = utf8.encode(value);
  return murmur3(bytes, 0, bytes.length, seed);
}

/** The seed of a `hashed` feature's hash and the first seed of a cross's chain. */
export const HASH_SEED = 0;
