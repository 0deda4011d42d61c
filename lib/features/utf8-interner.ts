import type { Data, Utf8 } from 'apache-arrow';

/**
 * Maps the rows of Arrow Utf8 columns to small integer ids, one per distinct value, straight from
 * the UTF-8 bytes. A categorical column has few distinct values and many rows: decoding each row
 * to a JS string (Vector.get) was most of the transform stage's time; here each distinct value is
 * decoded once, and rows cost a hash and a byte compare.
 */
export class Utf8Interner {
  /** The distinct values seen so far, by id. */
  readonly values: string[] = [];
  private readonly bytes: Uint8Array[] = [];
  private readonly byHash = new Map<number, number | number[]>();
  private readonly decoder = new TextDecoder();

  /** Writes the id of row r's value into ids[r], or -1 where the row is null. */
  intern(data: Data<Utf8>, ids: Int32Array): void {
    const offsets = data.valueOffsets;
    const values = data.values;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : null;
    for (let r = 0; r < data.length; r++) {
      // A slice keeps its validity bits at data.offset but its value offsets already start at row 0.
      const bit = data.offset + r;
      if (bitmap && (bitmap[bit >> 3]! & (1 << (bit & 7))) === 0) {
        ids[r] = -1;
        continue;
      }
      ids[r] = this.idOf(values, offsets[r]!, offsets[r + 1]!);
    }
  }

  private idOf(values: Uint8Array, start: number, end: number): number {
    // FNV-1a over the value's bytes.
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ values[i]!, 0x01000193);
    const found = this.byHash.get(hash);
    if (found !== undefined) {
      if (typeof found === 'number') {
        if (this.sameBytes(found, values, start, end)) return found;
      } else {
        for (const id of found) if (this.sameBytes(id, values, start, end)) return id;
      }
    }
    const id = this.values.length;
    const copy = values.slice(start, end);
    this.bytes.push(copy);
    this.values.push(this.decoder.decode(copy));
    if (found === undefined) this.byHash.set(hash, id);
    else this.byHash.set(hash, typeof found === 'number' ? [found, id] : [...found, id]);
    return id;
  }

  private sameBytes(id: number, values: Uint8Array, start: number, end: number): boolean {
    const known = this.bytes[id]!;
    if (known.length !== end - start) return false;
    for (let i = 0; i < known.length; i++) if (known[i] !== values[start + i]) return false;
    return true;
  }
}
