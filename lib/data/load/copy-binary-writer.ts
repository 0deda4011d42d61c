/**
 * Builds a PostgreSQL `COPY … FROM STDIN (FORMAT binary)` stream.
 * https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-BINARY-FORMAT
 *
 * Why binary and not text: Parquet's numbers, timestamps and UTF-8 strings go out as they are
 * (no number formatting, no JS string per value), and the server skips parsing them.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TWO_32 = 2 ** 32;

export class CopyBinaryWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;

  constructor(private readonly initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.pos;
  }

  /** The stream header: signature, flags (no OIDs), no header extension. */
  header(): void {
    this.ensure(SIGNATURE.length + 8);
    SIGNATURE.copy(this.buf, this.pos);
    this.pos += SIGNATURE.length;
    this.view.setInt32(this.pos, 0);
    this.view.setInt32(this.pos + 4, 0);
    this.pos += 8;
  }

  trailer(): void {
    this.ensure(2);
    this.view.setInt16(this.pos, -1);
    this.pos += 2;
  }

  /** Where the current row starts, to drop it again with rewind() when one of its values does not fit. */
  mark(): number {
    return this.pos;
  }

  rewind(mark: number): void {
    this.pos = mark;
  }

  /** Starts a tuple of `fields` fields. */
  tuple(fields: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, fields);
    this.pos += 2;
  }

  null(): void {
    this.ensure(4);
    this.view.setInt32(this.pos, -1);
    this.pos += 4;
  }

  int2(value: number): void {
    this.ensure(6);
    this.view.setInt32(this.pos, 2);
    this.view.setInt16(this.pos + 4, value);
    this.pos += 6;
  }

  int4(value: number): void {
    this.ensure(8);
    this.view.setInt32(this.pos, 4);
    this.view.setInt32(this.pos + 4, value);
    this.pos += 8;
  }

  /** An int8 given as a safe integer (|value| ≤ 2^53). */
  int8(value: number): void {
    const hi = Math.floor(value / TWO_32);
    this.int8Parts(hi, value - hi * TWO_32);
  }

  /** An int8 given as its high (signed) and low (unsigned) 32-bit halves. */
  int8Parts(hi: number, lo: number): void {
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setInt32(this.pos + 4, hi);
    this.view.setUint32(this.pos + 8, lo);
    this.pos += 12;
  }

  int8Big(value: bigint): void {
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setBigInt64(this.pos + 4, value);
    this.pos += 12;
  }

  float4(value: number): void {
    this.ensure(8);
    this.view.setInt32(this.pos, 4);
    this.view.setFloat32(this.pos + 4, value);
    this.pos += 8;
  }

  float8(value: number): void {
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setFloat64(this.pos + 4, value);
    this.pos += 12;
  }

  bool(value: boolean): void {
    this.ensure(5);
    this.view.setInt32(this.pos, 1);
    this.buf[this.pos + 4] = value ? 1 : 0;
    this.pos += 5;
  }

  /** A text value from UTF-8 bytes src[start, end), copied as they are. */
  bytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(4 + n);
    this.view.setInt32(this.pos, n);
    let p = this.pos + 4;
    if (n <= 32) {
      // Short strings (codes, names) dominate; a plain loop beats creating a subarray view for each.
      const buf = this.buf;
      for (let i = start; i < end; i++) buf[p++] = src[i]!;
    } else {
      this.buf.set(src.subarray(start, end), p);
    }
    this.pos += 4 + n;
  }

  /** A text value from a JS string, encoded as UTF-8. */
  utf8(value: string): void {
    this.ensure(4 + value.length * 3); // a UTF-16 unit never takes more than 3 UTF-8 bytes
    const n = this.buf.write(value, this.pos + 4, 'utf8');
    this.view.setInt32(this.pos, n);
    this.pos += 4 + n;
  }

  /**
   * A numeric value in PostgreSQL's wire form: base-10000 digits, the weight of the first one,
   * sign (0x0000 positive, 0x4000 negative, 0xC000 NaN) and display scale.
   */
  numeric(digits: readonly number[], weight: number, sign: number, dscale: number): void {
    const n = 8 + 2 * digits.length;
    this.ensure(4 + n);
    const v = this.view;
    v.setInt32(this.pos, n);
    v.setInt16(this.pos + 4, digits.length);
    v.setInt16(this.pos + 6, weight);
    v.setUint16(this.pos + 8, sign);
    v.setUint16(this.pos + 10, dscale);
    let p = this.pos + 12;
    for (const d of digits) {
      v.setInt16(p, d);
      p += 2;
    }
    this.pos = p;
  }

  /** Hands over everything written so far and starts a fresh buffer (the old one may still be in flight to the server). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(Math.max(this.initialBytes, this.pos));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
    return out;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }
}
