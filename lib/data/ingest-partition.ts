import { Field, Float64, Schema, Utf8, makeData, makeVector, type Data } from 'apache-arrow';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { asSourceError } from './source-errors';
import { openArtifactStore, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import type { ShardRef } from '../../contracts/refs';
import { accumulateStatistics, createStatistics } from '../statistics/dataset-stats';
import { ShardWriter } from './arrow-shards';
import { CopyBinaryReader, WIRE_WIDTH, decodeNumber } from './copy-binary';
import { fileCopyChunks } from './files/file-copy-stream';
import { partitionSelect } from './partition-sql';
import type { Partition } from './partitions';
import { QuarantineFile } from './quarantine-file';
import type { SourceColumn, SourceSchema } from './source-schema';

export interface IngestPartitionTask {
  databaseUrl: string;
  artifactStore: ArtifactStoreSettings;
  schema: SourceSchema;
  partition: Partition;
  batchRows: number;
}

/**
 * Arrow schema of a raw shard: numbers (and epoch-ms timestamps) as Float64, non-null unless the
 * column is `nullable` (an imputed numeric feature), text as nullable Utf8.
 */
export function shardSchema(columns: SourceColumn[]): Schema {
  return new Schema(columns.map((c) => (c.kind === 'text' ? new Field(c.name, new Utf8(), true) : new Field(c.name, new Float64(), c.nullable === true))));
}

/** One Utf8 column under construction: raw UTF-8 bytes appended as they arrive, never decoded to strings. */
class Utf8ColumnBuilder {
  private bytes = new Uint8Array(1 << 16);
  private byteLength = 0;
  private readonly offsets: Int32Array;
  private readonly validity: Uint8Array;
  private nulls = 0;

  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.validity = new Uint8Array((capacity + 7) >> 3);
  }

  append(row: number, src: Buffer | null, start: number, length: number): void {
    if (src === null) {
      this.nulls++;
    } else {
      this.validity[row >> 3]! |= 1 << (row & 7);
      if (this.byteLength + length > this.bytes.length) {
        const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.byteLength + length));
        grown.set(this.bytes.subarray(0, this.byteLength));
        this.bytes = grown;
      }
      src.copy(this.bytes, this.byteLength, start, start + length);
      this.byteLength += length;
    }
    this.offsets[row + 1] = this.byteLength;
  }

  flush(length: number): Data {
    const data = makeData({
      type: new Utf8(),
      length,
      nullCount: this.nulls,
      nullBitmap: this.nulls > 0 ? this.validity.slice(0, (length + 7) >> 3) : null,
      valueOffsets: this.offsets.slice(0, length + 1),
      data: this.bytes.slice(0, this.byteLength),
    });
    this.byteLength = 0;
    this.nulls = 0;
    this.validity.fill(0);
    return data;
  }
}

/**
 * Accumulates one Arrow batch from binary COPY tuples; a malformed tuple (NULL in a numeric column
 * that is not `nullable`, NaN or Infinity in any numeric column, a field of the wrong width, a value
 * that a column's `allowed` values do not list) is refused with the reason and appends nothing.
 */
export class ShardBatchBuilder {
  private readonly numbers: Float64Array[];
  private readonly texts: Array<Utf8ColumnBuilder | null>;
  /** Validity bits of each nullable number column (null for the others), and its nulls so far. */
  private readonly validity: Array<Uint8Array | null>;
  private readonly numberNulls: number[];
  private readonly nullableColumns: number[];
  /** Columns with `allowed` values: numbers as a set, texts as their UTF-8 bytes by byte length. */
  private readonly allowedNumbers: Array<Set<number> | null>;
  private readonly allowedTexts: Array<Map<number, Buffer[]> | null>;
  length = 0;

  constructor(
    private readonly columns: SourceColumn[],
    private readonly capacity: number,
  ) {
    this.numbers = columns.map((c) => (c.kind === 'text' ? new Float64Array(0) : new Float64Array(capacity)));
    this.texts = columns.map((c) => (c.kind === 'text' ? new Utf8ColumnBuilder(capacity) : null));
    this.validity = columns.map((c) => (c.kind !== 'text' && c.nullable === true ? new Uint8Array((capacity + 7) >> 3) : null));
    this.numberNulls = columns.map(() => 0);
    this.nullableColumns = columns.flatMap((_, c) => (this.validity[c] ? [c] : []));
    this.allowedNumbers = columns.map((c) => (c.allowed && c.kind !== 'text' ? new Set(c.allowed.map(Number)) : null));
    this.allowedTexts = columns.map((c) => {
      if (!c.allowed || c.kind !== 'text') return null;
      const byLength = new Map<number, Buffer[]>();
      for (const value of c.allowed) {
        const bytes = Buffer.from(String(value), 'utf8');
        byLength.set(bytes.length, [...(byLength.get(bytes.length) ?? []), bytes]);
      }
      return byLength;
    });
  }

  /** Why the value of column c is refused when the column lists its allowed values, or null. */
  private notAllowed(c: number, buf: Buffer, start: number, length: number, value: number): string | null {
    const numbers = this.allowedNumbers[c];
    const texts = this.allowedTexts[c];
    if (numbers) {
      if (numbers.has(value)) return null;
      return `"${this.columns[c]!.name}" is ${value}, which is not one of label.classes`;
    }
    if (!texts || length < 0) return null;
    const candidates = texts.get(length);
    if (candidates?.some((bytes) => buf.compare(bytes, 0, length, start, start + length) === 0)) return null;
    return `"${this.columns[c]!.name}" is ${JSON.stringify(buf.toString('utf8', start, start + length))}, which is not one of label.classes`;
  }

  /** Appends the tuple whose fields are views into `buf` (see CopyBinaryReader), or returns why it is malformed. */
  addTuple(buf: Buffer, starts: Int32Array, lengths: Int32Array): string | null {
    const columns = this.columns;
    const row = this.length;
    // Validate and decode every number first so a refused row leaves no partial values behind.
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      if (column.wire === 'text') continue;
      const length = lengths[c]!;
      const validity = this.validity[c];
      if (length < 0) {
        if (!validity) return `"${column.name}" is null`;
        // A fixed value under the null, so that the same rows always make the same bytes.
        this.numbers[c]![row] = 0;
        continue;
      }
      if (length !== WIRE_WIDTH[column.wire]) return `"${column.name}" has ${length} bytes, expected ${WIRE_WIDTH[column.wire]} for ${column.wire}`;
      const value = decodeNumber(column.wire, buf, starts[c]!);
      if (!Number.isFinite(value)) return `"${column.name}" is not a finite number: ${value}`;
      if (this.allowedNumbers[c]) {
        const refused = this.notAllowed(c, buf, starts[c]!, length, value);
        if (refused !== null) return refused;
      }
      this.numbers[c]![row] = value;
    }
    for (let c = 0; c < columns.length; c++) {
      if (this.texts[c] && columns[c]!.required && lengths[c]! < 0) return `"${columns[c]!.name}" is null`;
      if (this.allowedTexts[c]) {
        const refused = this.notAllowed(c, buf, starts[c]!, lengths[c]!, 0);
        if (refused !== null) return refused;
      }
    }
    for (let c = 0; c < columns.length; c++) {
      const text = this.texts[c];
      if (!text) continue;
      const length = lengths[c]!;
      text.append(row, length < 0 ? null : buf, starts[c]!, length);
    }
    // Validity last: a refused row returned above, and its row index is reused by the next tuple.
    for (const c of this.nullableColumns) {
      if (lengths[c]! < 0) this.numberNulls[c]!++;
      else this.validity[c]![row >> 3]! |= 1 << (row & 7);
    }
    this.length++;
    return null;
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  /** The rows so far as Arrow column data in column order (see shardSchema); resets the builder. */
  flush(): { columns: Data[]; length: number } {
    const length = this.length;
    const columns: Data[] = this.columns.map((column, c) => {
      if (column.kind === 'text') return this.texts[c]!.flush(length);
      const validity = this.validity[c];
      if (!validity) return makeVector(this.numbers[c]!.slice(0, length)).data[0]!;
      const nulls = this.numberNulls[c]!;
      const data = makeData({
        type: new Float64(),
        length,
        nullCount: nulls,
        nullBitmap: nulls > 0 ? validity.slice(0, (length + 7) >> 3) : null,
        data: this.numbers[c]!.slice(0, length),
      });
      validity.fill(0);
      this.numberNulls[c] = 0;
      return data;
    });
    this.length = 0;
    return { columns, length };
  }
}

/** Every field of a refused tuple, readable, for the quarantine file. */
export function describeTuple(columns: SourceColumn[], buf: Buffer, starts: Int32Array, lengths: Int32Array): Array<number | string | null> {
  return columns.map((column, c) => {
    const length = lengths[c]!;
    if (length < 0) return null;
    if (column.wire === 'text') return buf.toString('utf8', starts[c]!, starts[c]! + length);
    if (length !== WIRE_WIDTH[column.wire]) return `0x${buf.toString('hex', starts[c]!, starts[c]! + length)}`;
    const value = decodeNumber(column.wire, buf, starts[c]!);
    // JSON has no NaN or Infinity: keep them as their names.
    return Number.isFinite(value) ? value : String(value);
  });
}

/**
 * Reads one partition with COPY (SELECT ...) TO STDOUT in binary format (PostgreSQL's fastest way
 * out), in a read-only transaction so that a source query can change nothing, and writes it as an
 * Arrow IPC stream shard. Deterministic (see partitionSelect): the same partition of the same data
 * yields byte-identical shards, hence the same content-addressed URI.
 */
export async function ingestPartition(input: IngestPartitionTask, progress: (rows: number) => void): Promise<ShardRef> {
  const store = openArtifactStore(input.artifactStore);
  const quarantined = await QuarantineFile.open(store);
  // Statistics of every column but the row id (columns[0]), gathered from the batches as they are written.
  const statistics = createStatistics(input.schema.columns.slice(1));
  const { partition } = input;
  let client: Client | null = null;
  let rows = 0;
  try {
    const { columns } = input.schema;
    let chunks: AsyncIterable<Buffer>;
    if (partition.kind === 'fileRange') {
      chunks = fileCopyChunks(input.schema, partition, (row) => quarantined.add(row));
    } else {
      client = new Client({ connectionString: input.databaseUrl });
      await client.connect();
      await client.query('BEGIN READ ONLY');
      chunks = client.query(copyTo(`COPY (${partitionSelect(input.schema, partition)}) TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>;
    }
    const shard = await store.putFile('shards', '.arrows', async (tmp) => {
      const writer = new ShardWriter(tmp, shardSchema(columns));
      const write = (batch: { columns: Data[]; length: number }): void => {
        accumulateStatistics(statistics, writer.write(batch.columns, batch.length));
      };
      const builder = new ShardBatchBuilder(columns, input.batchRows);
      const reader = new CopyBinaryReader(columns.length);
      const onTuple = (buf: Buffer, starts: Int32Array, lengths: Int32Array): void => {
        const problem = builder.addTuple(buf, starts, lengths);
        if (problem !== null) {
          const fields = describeTuple(columns, buf, starts, lengths);
          quarantined.add({ key: fields[0] ?? null, reason: problem, fields });
          return;
        }
        rows++;
        if (builder.full) {
          write(builder.flush());
          progress(rows);
        }
      };
      for await (const chunk of chunks) reader.push(chunk, onTuple);
      reader.end();
      // Always write the last (possibly empty) batch so even an empty shard carries its schema.
      write(builder.flush());
      await writer.close();
    });
    if (client) await client.query('COMMIT');
    const quarantine = await quarantined.commit();
    const statisticsRef = await store.putJson('statistics', statistics);
    progress(rows);
    return {
      ...shard,
      partition: partition.partition,
      rows,
      quarantinedRows: quarantined.count,
      statistics: statisticsRef,
      ...(quarantine ? { quarantine } : {}),
    };
  } catch (err) {
    quarantined.discard();
    throw asSourceError(err, input.schema.name);
  } finally {
    await client?.end().catch(() => undefined);
  }
}
