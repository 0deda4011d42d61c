import { Field, Float64, Schema, Utf8, makeVector, vectorFromArray, type Data } from 'apache-arrow';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { ArtifactStore } from '../artifacts/artifact-store';
import type { ShardRef } from '../refs';
import { ident } from './db';
import { ShardWriter } from './arrow-shards';
import { CopyTextLineSplitter, parseCopyTextLine, type CopyField } from './copy-text';
import type { KeyRange } from './partitions';
import type { SourceColumn } from './source-schema';

export interface IngestPartitionInput {
  databaseUrl: string;
  artifactRoot: string;
  table: string;
  key: string;
  columns: SourceColumn[];
  range: KeyRange;
  batchRows: number;
}

export interface QuarantinedRow {
  key: string | null;
  reason: string;
  fields: CopyField[];
}

/** Arrow schema of a raw shard: numbers (and epoch-ms timestamps) as non-null Float64, text as nullable Utf8. */
export function shardSchema(columns: SourceColumn[]): Schema {
  return new Schema(columns.map((c) => (c.kind === 'text' ? new Field(c.name, new Utf8(), true) : new Field(c.name, new Float64(), false))));
}

/** Accumulates one Arrow batch of typed columns; malformed rows go to the quarantine list. */
export class ShardBatchBuilder {
  private numbers: Float64Array[];
  private texts: (string | null)[][];
  length = 0;

  constructor(
    private readonly columns: SourceColumn[],
    private readonly capacity: number,
  ) {
    this.numbers = columns.map((c) => (c.kind === 'text' ? new Float64Array(0) : new Float64Array(capacity)));
    this.texts = columns.map(() => []);
  }

  /** Appends the row, or returns why it is malformed (and appends nothing). */
  add(fields: CopyField[]): string | null {
    if (fields.length !== this.columns.length) return `expected ${this.columns.length} fields, got ${fields.length}`;
    for (let c = 0; c < this.columns.length; c++) {
      const column = this.columns[c]!;
      if (column.kind === 'text') continue;
      const field = fields[c];
      if (field === null || field === undefined) return `"${column.name}" is null`;
      const value = Number(field);
      if (!Number.isFinite(value)) return `"${column.name}" is not a finite number: ${JSON.stringify(field)}`;
    }
    const row = this.length++;
    for (let c = 0; c < this.columns.length; c++) {
      if (this.columns[c]!.kind === 'text') this.texts[c]!.push(fields[c] ?? null);
      else this.numbers[c]![row] = Number(fields[c]);
    }
    return null;
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  /** The rows so far as Arrow column data in column order (see shardSchema); resets the builder. */
  flush(): { columns: Data[]; length: number } {
    const length = this.length;
    const columns: Data[] = this.columns.map((column, c) =>
      column.kind === 'text' ? vectorFromArray(this.texts[c]!, new Utf8()).data[0]! : makeVector(this.numbers[c]!.slice(0, length)).data[0]!,
    );
    this.texts = this.columns.map(() => []);
    this.length = 0;
    return { columns, length };
  }
}

/**
 * Reads one key range with COPY (SELECT ...) TO STDOUT (PostgreSQL's fastest way out) and writes
 * it as an Arrow IPC stream shard, in key order. Deterministic: the same range of the same table
 * yields byte-identical shards, hence the same content-addressed URI.
 */
export async function ingestPartition(input: IngestPartitionInput, progress: (rows: number) => void): Promise<ShardRef> {
  const store = new ArtifactStore(input.artifactRoot);
  const client = new Client({ connectionString: input.databaseUrl });
  await client.connect();
  const quarantined: QuarantinedRow[] = [];
  let rows = 0;
  try {
    const select = input.columns.map((c) => c.select).join(', ');
    const key = ident(input.key);
    const sql = `COPY (SELECT ${select} FROM ${ident(input.table)} WHERE ${key} >= ${input.range.lo} AND ${key} < ${input.range.hi} ORDER BY ${key}) TO STDOUT`;
    const shard = await store.putFile('shards', '.arrows', async (tmp) => {
      const writer = new ShardWriter(tmp, shardSchema(input.columns));
      const builder = new ShardBatchBuilder(input.columns, input.batchRows);
      const splitter = new CopyTextLineSplitter();
      const handleLine = (line: string): void => {
        const fields = parseCopyTextLine(line);
        const problem = builder.add(fields);
        if (problem !== null) quarantined.push({ key: fields[0] ?? null, reason: problem, fields });
        else rows++;
        if (builder.full) {
          const batch = builder.flush();
          writer.write(batch.columns, batch.length);
          progress(rows);
        }
      };
      const stream = client.query(copyTo(sql));
      for await (const chunk of stream) for (const line of splitter.push(chunk as Buffer)) handleLine(line);
      for (const line of splitter.end()) handleLine(line);
      // Always write the last (possibly empty) batch so even an empty shard carries its schema.
      const last = builder.flush();
      writer.write(last.columns, last.length);
      await writer.close();
    });
    const quarantine =
      quarantined.length > 0
        ? await store.putBytes('quarantine', '.ndjson', Buffer.from(quarantined.map((q) => JSON.stringify(q)).join('\n') + '\n'))
        : undefined;
    progress(rows);
    return { ...shard, partition: input.range.partition, rows, quarantinedRows: quarantined.length, ...(quarantine ? { quarantine } : {}) };
  } finally {
    await client.end().catch(() => undefined);
  }
}
