import { promises as fs } from 'node:fs';
import { Message, MessageHeader, RecordBatchReader, type RecordBatch } from 'apache-arrow';

/**
 * Random access to the record batches ("blocks") of an Arrow IPC stream file, as shards are
 * written: an index of each batch message's byte range, found by reading message headers only
 * (bodies are skipped), then any block read on its own. Lets training visit a shard's blocks in a
 * shuffled order without reading the file from the start each time.
 */
export interface BlockIndex {
  file: string;
  /** The schema message's bytes (every block is decoded against it). */
  schema: Uint8Array;
  /** Byte offset and length of each record batch message, in file order. */
  blocks: Array<{ offset: number; length: number }>;
}

const CONTINUATION = -1;

export async function indexShardBlocks(file: string): Promise<BlockIndex> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = Buffer.alloc(8);
    let schema: Uint8Array | undefined;
    const blocks: BlockIndex['blocks'] = [];
    let pos = 0;
    while (pos + 4 <= size) {
      await handle.read(prefix, 0, 8, pos);
      // A message is [0xFFFFFFFF, metadata length] (or the pre-1.0 [metadata length]), the
      // metadata flatbuffer, then the body; a zero length is the end-of-stream marker.
      const continued = prefix.readInt32LE(0) === CONTINUATION;
      const headerBytes = continued ? 8 : 4;
      const metadataLength = continued ? prefix.readInt32LE(4) : prefix.readInt32LE(0);
      if (metadataLength === 0) break;
      const metadata = Buffer.alloc(metadataLength);
      await handle.read(metadata, 0, metadataLength, pos + headerBytes);
      const message = Message.decode(metadata);
      const length = headerBytes + metadataLength + Number(message.bodyLength);
      if (message.headerType === MessageHeader.Schema) {
        schema = Buffer.alloc(length);
        await handle.read(schema, 0, length, pos);
      } else if (message.headerType === MessageHeader.RecordBatch) {
        blocks.push({ offset: pos, length });
      } else {
        throw new Error(`${file}: unsupported Arrow message ${MessageHeader[message.headerType]} (shards have no dictionaries)`);
      }
      pos += length;
    }
    if (!schema) throw new Error(`${file} is not an Arrow IPC stream (no schema message)`);
    return { file, schema, blocks };
  } finally {
    await handle.close();
  }
}

/** Reads block `i` of an indexed shard file on its own (through `handle` when the caller keeps the file open). */
export async function readShardBlock(index: BlockIndex, i: number, handle?: fs.FileHandle): Promise<RecordBatch> {
  const block = index.blocks[i];
  if (!block) throw new RangeError(`${index.file} has ${index.blocks.length} blocks, not ${i + 1}`);
  const bytes = Buffer.alloc(index.schema.byteLength + block.length);
  bytes.set(index.schema, 0);
  const file = handle ?? (await fs.open(index.file, 'r'));
  try {
    await file.read(bytes, index.schema.byteLength, block.length, block.offset);
  } finally {
    if (!handle) await file.close();
  }
  const batches = RecordBatchReader.from(bytes).readAll();
  if (batches.length !== 1) throw new Error(`${index.file} block ${i} decoded to ${batches.length} record batches`);
  return batches[0]!;
}

/** An indexed shard file kept open for many block reads; close() when done. */
export interface OpenShard {
  index: BlockIndex;
  read(i: number): Promise<RecordBatch>;
  close(): Promise<void>;
}

export async function openShardBlocks(file: string): Promise<OpenShard> {
  const index = await indexShardBlocks(file);
  const handle = await fs.open(file, 'r');
  return { index, read: (i) => readShardBlock(index, i, handle), close: () => handle.close() };
}
