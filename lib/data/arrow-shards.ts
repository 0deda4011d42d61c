import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { RecordBatch, RecordBatchReader, Struct, Table, makeData, tableToIPC, type Data, type Schema } from 'apache-arrow';

/**
 * Shards are Arrow IPC *stream* files: written batch by batch and read batch by batch, so a
 * worker's memory holds one batch, not the shard.
 *
 * A writer is bound to one schema and builds every batch with it: Arrow's stream writer closes
 * itself when a batch's schema differs from the first one in any way (nullability included), and
 * schemas inferred per batch do differ.
 *
 * Each batch is serialised and written to the file before write() returns. Arrow's own stream
 * writer piped into a file queues every batch the producer hands it while the file catches up, so a
 * fast reader (a COPY stream) made a worker's memory grow with the partition, not stay one batch.
 * The bytes are the same as that writer's: the schema message once, one message per batch, the
 * end-of-stream marker.
 */
export class ShardWriter {
  private readonly fd: number;
  /** Bytes of the schema message that starts every IPC stream of this schema. */
  private readonly schemaBytes: number;
  private wroteSchema = false;

  constructor(
    file: string,
    readonly schema: Schema,
  ) {
    this.fd = openSync(file, 'w');
    this.schemaBytes = tableToIPC(new Table(schema), 'stream').length - EOS_BYTES;
  }

  /** Writes one batch; `columns` are in schema order and all `length` long. Returns the batch, for a caller that also reads it. */
  write(columns: Data[], length: number): RecordBatch {
    const batch = new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children: columns }));
    const stream = tableToIPC(new Table(this.schema, [batch]), 'stream');
    writeFully(this.fd, stream.subarray(this.wroteSchema ? this.schemaBytes : 0, stream.length - EOS_BYTES));
    this.wroteSchema = true;
    return batch;
  }

  async close(): Promise<void> {
    // A shard with no batch is still a valid stream: its schema, then the end marker.
    const tail = tableToIPC(new Table(this.schema), 'stream');
    writeFully(this.fd, this.wroteSchema ? tail.subarray(tail.length - EOS_BYTES) : tail);
    closeSync(this.fd);
    return Promise.resolve();
  }
}

/** The IPC stream's end-of-stream marker: a continuation token and a zero length. */
const EOS_BYTES = 8;

function writeFully(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
}

export async function* readShardBatches(file: string): AsyncGenerator<RecordBatch> {
  const reader = await RecordBatchReader.from(createReadStream(file));
  for await (const batch of reader) yield batch;
}
