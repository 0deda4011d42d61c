/**
 * Streaming reader for PostgreSQL's `COPY … TO STDOUT (FORMAT binary)`.
 * https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-BINARY-FORMAT
 *
 * Why binary: numbers arrive as fixed-width big-endian values and text as raw UTF-8 bytes, so the
 * server skips float/timestamp formatting and ingest skips number parsing and string creation.
 * On flights-3m this is what lets ingest keep up with a bare `COPY … TO STDOUT` (bench/).
 */

/** The on-the-wire representation of a column in a binary COPY, by PostgreSQL type. */
export type WireType = 'int2' | 'int4' | 'int8' | 'float4' | 'float8' | 'timestamp' | 'date' | 'text';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_FIXED = SIGNATURE.length + 8; // signature, flags int32, header-extension length int32
/** Bytes of a new chunk joined to the carried-over tail to finish a tuple split across chunks. */
const STRADDLE_WINDOW = 4096;

/** Microseconds (timestamp) and days (date) count from 2000-01-01 UTC, PostgreSQL's epoch. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const MS_PER_DAY = 86_400_000;

/** A tuple's fields as views into `buf`: field f is bytes [starts[f], starts[f] + lengths[f]); length -1 is NULL. */
export type TupleSink = (buf: Buffer, starts: Int32Array, lengths: Int32Array) => void;

export class CopyBinaryReader {
  private rest: Buffer | null = null;
  private headerRead = false;
  private trailerRead = false;
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;

  constructor(readonly fieldCount: number) {
    this.starts = new Int32Array(fieldCount);
    this.lengths = new Int32Array(fieldCount);
  }

  /** Hands every complete tuple in `chunk` (plus bytes carried over from the last one) to `sink`. */
  push(chunk: Buffer, sink: TupleSink): void {
    let data = chunk;
    if (this.rest) {
      // A tuple straddles the chunk boundary. Finish it from a small joined window rather than
      // copying the whole chunk (which doubled ingest's memory traffic).
      const restLength = this.rest.length;
      const joined = Buffer.concat([this.rest, chunk.subarray(0, Math.min(chunk.length, STRADDLE_WINDOW))]);
      this.rest = null;
      const consumed = this.parse(joined, sink);
      if (consumed >= restLength) {
        data = chunk.subarray(consumed - restLength);
      } else if (joined.length === restLength + chunk.length) {
        this.rest = joined.subarray(consumed); // the whole chunk fit in the window and the tuple is still incomplete
        return;
      } else {
        data = Buffer.concat([joined.subarray(consumed), chunk.subarray(joined.length - restLength)]); // a tuple wider than the window
      }
    }
    const pos = this.parse(data, sink);
    this.rest = pos < data.length ? data.subarray(pos) : null;
  }

  /** Reads the header (once) and then whole tuples from `data`; returns where the first incomplete one starts. */
  private parse(data: Buffer, sink: TupleSink): number {
    const end = data.length;
    let pos = 0;
    if (!this.headerRead) {
      if (end < HEADER_FIXED) return 0;
      if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a PostgreSQL binary COPY stream (bad signature)');
      const extension = int32(data, SIGNATURE.length + 4);
      if (end < HEADER_FIXED + extension) return 0;
      pos = HEADER_FIXED + extension;
      this.headerRead = true;
    }
    const { starts, lengths, fieldCount } = this;
    while (pos + 2 <= end && !this.trailerRead) {
      const fields = int16(data, pos);
      if (fields === -1) {
        this.trailerRead = true;
        return pos + 2;
      }
      if (fields !== fieldCount) throw new Error(`binary COPY tuple has ${fields} fields, expected ${fieldCount}`);
      let p = pos + 2;
      for (let f = 0; f < fieldCount; f++) {
        if (p + 4 > end) return pos;
        const length = int32(data, p);
        p += 4;
        starts[f] = p;
        lengths[f] = length;
        if (length > 0) p += length;
        if (p > end) return pos;
      }
      sink(data, starts, lengths);
      pos = p;
    }
    return pos;
  }

  /** Throws if the stream stopped before its trailer: a cut-off stream must not pass as a short table. */
  end(): void {
    if (!this.trailerRead) throw new Error('binary COPY stream ended before its trailer (connection lost mid-copy?)');
    if (this.rest && this.rest.length > 0) throw new Error(`${this.rest.length} unexpected bytes after the binary COPY trailer`);
  }
}

function int16(b: Buffer, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
}

function int32(b: Buffer, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/** A signed 64-bit integer as a double: exact while |value| < 2^53 (µs timestamps until year 287396). */
function int64(b: Buffer, p: number): number {
  return int32(b, p) * 4294967296 + (int32(b, p + 4) >>> 0);
}

/** PostgreSQL's 'infinity' / '-infinity' timestamps are INT64_MAX / INT64_MIN; dates INT32_MAX / INT32_MIN. */
function isInfinite64(b: Buffer, p: number): boolean {
  const hi = int32(b, p);
  const lo = int32(b, p + 4);
  return (hi === 0x7fffffff && lo === -1) || (hi === -0x80000000 && lo === 0);
}

/**
 * Decodes a non-NULL numeric field to a double: numbers as they are, timestamps and dates as
 * epoch milliseconds (UTC). Infinite timestamps and dates come back as ±Infinity.
 */
export function decodeNumber(wire: WireType, b: Buffer, p: number): number {
  switch (wire) {
    case 'int2':
      return int16(b, p);
    case 'int4':
      return int32(b, p);
    case 'int8':
      return int64(b, p);
    case 'float4':
      return b.readFloatBE(p);
    case 'float8':
      return b.readDoubleBE(p);
    case 'timestamp':
      if (isInfinite64(b, p)) return int32(b, p) > 0 ? Infinity : -Infinity;
      return int64(b, p) / 1000 + PG_EPOCH_MS;
    case 'date': {
      const days = int32(b, p);
      if (days === 0x7fffffff) return Infinity;
      if (days === -0x80000000) return -Infinity;
      return days * MS_PER_DAY + PG_EPOCH_MS;
    }
    case 'text':
      throw new Error('text fields are not numbers');
  }
}

/** The byte width a fixed-size wire type must have; a field of another length is corrupt. */
export const WIRE_WIDTH: Readonly<Record<Exclude<WireType, 'text'>, number>> = {
  int2: 2,
  int4: 4,
  int8: 8,
  float4: 4,
  float8: 8,
  timestamp: 8,
  date: 4,
};
