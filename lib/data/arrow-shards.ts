import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { RecordBatchReader, RecordBatchStreamWriter, type RecordBatch, type Table } from 'apache-arrow';

/**
 * Shards are Arrow IPC *stream* files: written batch by batch and read batch by batch, so a
 * worker's memory holds one batch, not the shard.
 */
export class ShardWriter {
  private readonly writer = new RecordBatchStreamWriter();
  private readonly done: Promise<void>;

  constructor(file: string) {
    const out = createWriteStream(file);
    this.writer.toNodeStream().pipe(out);
    this.done = finished(out);
  }

  write(table: Table): void {
    this.writer.write(table);
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
