import type { Data, Utf8 } from 'apache-arrow';

/**
 * Counts the rows of Utf8 columns per distinct value straight from the UTF-8 bytes, decoding each
 * distinct value once. Like lib/features/utf8-interner.ts, but it counts instead of writing ids,
 * and finds values in an open-addressing table of typed arrays rather than a Map, which is what
 * the per-row cost comes down to on a categorical column.
 */
export class Utf8Counter {
  /** Distinct values in first-seen order, and the rows of each. */
  readonly values: string[] = [];
  readonly counts: number[] = [];
  /** Null rows, and UTF-8 bytes of the non-null ones. */
  missing = 0;
  bytes = 0;
  private readonly valueBytes: Uint8Array[] = [];
  private hashes = new Int32Array(64);
  /** Slot → id + 1, 0 when free. */
  private slots = new Int32Array(128);
  private readonly decoder = new TextDecoder();

  count(data: Data<Utf8>): void {
    const offsets = data.valueOffsets;
    const values = data.values;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : null;
    let missing = 0;
    let bytes = 0;
    for (let r = 0; r < data.length; r++) {
      // A slice keeps its validity bits at data.offset but its value offsets already start at row 0.
      const bit = data.offset + r;
      if (bitmap && (bitmap[bit >> 3]! & (1 << (bit & 7))) === 0) {
        missing++;
        continue;
      }
      const start = offsets[r]!;
      const end = offsets[r + 1]!;
      bytes += end - start;
      this.counts[this.idOf(values, start, end)]!++;
    }
    this.missing += missing;
    this.bytes += bytes;
  }

  private idOf(values: Uint8Array, start: number, end: number): number {
    // FNV-1a over the bytes, then a murmur3 finaliser so the low bits that pick the slot are mixed.
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ values[i]!, 0x01000193);
    hash ^= hash >>> 16;
    hash = Math.imul(hash, 0x85ebca6b);
    hash ^= hash >>> 13;
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === 0) break;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.sameBytes(id, values, start, end)) return id;
      slot = (slot + 1) & mask;
    }
    const id = this.values.length;
    const copy = values.slice(start, end);
    this.valueBytes.push(copy);
    this.values.push(this.decoder.decode(copy));
    this.counts.push(0);
    if (id === this.hashes.length) {
      const grown = new Int32Array(id * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[id] = hash;
    this.slots[slot] = id + 1;
    // At most half full, so probe runs stay short.
    if (2 * this.values.length > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.values.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }

  private sameBytes(id: number, values: Uint8Array, start: number, end: number): boolean {
    const known = this.valueBytes[id]!;
    if (known.length !== end - start) return false;
    for (let i = 0; i < known.length; i++) if (known[i] !== values[start + i]) return false;
    return true;
  }
}
