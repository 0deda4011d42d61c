import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { RecordBatch, RecordBatchReader, RecordBatchStreamWriter, Struct, makeData, type Data, type Schema } from 'apache-arrow';

/**
 * Shards are Arrow IPC *stream* files: written batch by batch and read batch by batch, so a
 * worker's memory holds one batch, not the shard.
 *
 * A writer is bound to one schema and builds every batch with it: Arrow's stream writer closes
 * itself when a batch's schema differs from the first one in any way (nullability included), and
 * schemas inferred per batch do differ.
 */
export class ShardWriter {
  private readonly writer = new RecordBatchStreamWriter();
  private readonly done: Promise<void>;

  constructor(
    file: string,
    readonly schema: Schema,
  ) {
    const out = createWriteStream(file);
    this.writer.toNodeStream().pipe(out);
    this.done = finished(out);
  }

  /** Writes one batch; `columns` are in schema order and all `length` long. Returns the batch, for a caller that also reads it. */
  write(columns: Data[], length: number): RecordBatch {
    const batch = new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children: columns }));
    this.writer.write(batch);
    return batch;
  }

  async close(): Promise<void> {
    this.writer.finish();
    await this.done;
  }
}

export async function* readShardBatches(file: string): AsyncGenerator<RecordBatch> {
  const reader = await RecordBatchReader.from(createReadStream(file));
  for await (const batch of reader) yield batch;
}
