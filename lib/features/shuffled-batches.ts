import type { RecordBatch } from 'apache-arrow';
import { localArtifactPath } from '../artifacts/artifact-store';
import { openShardBlocks, type OpenShard } from '../data/shard-blocks';
import { mulberry32, shuffleInPlace } from '../random';
import type { EncodedShardRef } from '../../contracts/refs';
import type { RowShare } from '../../contracts/stages';
import { ENCODED_LABEL, ENCODED_SPLIT, encodedFeatureColumn } from './apply-transform';
import type { BatchRange, ModelBatch } from './encoded-batches';
import { FeatureEncoder } from './feature-encoder';
import { SPLIT_CODE, type SplitName } from './split';
import type { FittedTransform } from './transform-format';

/**
 * The training order of a shard group: a window shuffle over blocks, as tf.data's interleave plus
 * shuffle buffer or Ray Data's local shuffle do it, with bounded memory. Shards are written in
 * key order, which is often time order (the flights table is sorted by date): streaming them as
 * they lie trains on January, then February, ..., and the model forgets the start of the year
 * by the end of the epoch. Here every epoch:
 *
 *   1. the group's blocks (Arrow record batches of ENCODED_BLOCK_ROWS rows, about a day of
 *      flights) are put in a seeded random order;
 *   2. they are taken a window at a time, as many blocks as WINDOW_CELLS allows, in windows of
 *      equal size, and the rows of a window are shuffled together; a group that fits in one
 *      window (the demo's does) gets a full shuffle, a larger one windows that each sample
 *      hundreds of random places of the table;
 *   3. batches are cut from the concatenation of the windows (a batch may span two windows), so
 *      there are always ceil(rows / batchSize) batches whatever the order, and batch i is the same
 *      rows in any attempt with the same seed: a resumed activity skips to it, reading (not
 *      encoding) the windows before it.
 *
 * Memory is one window, whatever the table's size. How much the window holds matters: on the
 * date-sorted flights, windows of a third of the year each reached test AUC 0.71 after an epoch
 * where one window over the whole year reached 0.757 (bench/results/training.json).
 */

/** Cells (rows × columns) of a window at most: 32M Float32 cells, 128 MB. */
const WINDOW_CELLS = 32 * 1024 * 1024;

interface BlockRef {
  shard: OpenShard;
  block: number;
  /** Position among the group's blocks in file order: with the row, it decides a row's share. */
  ordinal: number;
}

/** One block's rows of the wanted split, its label and feature columns. */
interface LoadedBlock {
  picked: Uint32Array;
  labels: Float32Array;
  columns: Float32Array[];
}

export interface ShuffleOptions extends BatchRange {
  split: SplitName;
  batchSize: number;
  shuffleSeed: number;
  /** Cells a window may hold; WINDOW_CELLS unless a test wants many windows of a small shard. */
  windowCells?: number;
  /** Only this share of the rows: a data-parallel worker's, interleaved with the others' in every block. */
  share?: RowShare;
}

/** The group's shards opened, and their blocks in file order: shards by partition, then blocks as written (whatever order the shards came in). */
async function openGroup(shards: EncodedShardRef[]): Promise<{ blocks: BlockRef[]; close(): Promise<void> }> {
  const ordered = [...shards].sort((a, b) => a.partition - b.partition);
  const opened = await Promise.all(ordered.map(async (s) => openShardBlocks(await localArtifactPath(s.uri))));
  let ordinal = 0;
  const blocks = opened.flatMap((shard) => shard.index.blocks.map((_, block) => ({ shard, block, ordinal: ordinal++ })));
  return { blocks, close: async () => void (await Promise.all(opened.map((o) => o.close()))) };
}

/** Rows of the wanted split in a block, and of the share when given: row r of block b is in share (r + b) mod count. */
function pickRows(split: Float32Array, rows: number, want: number, ordinal: number, share: RowShare | undefined): Uint32Array {
  const picked = new Uint32Array(rows);
  let n = 0;
  if (share === undefined) {
    for (let r = 0; r < rows; r++) if (split[r] === want) picked[n++] = r;
  } else {
    for (let r = (((share.index - ordinal) % share.count) + share.count) % share.count; r < rows; r += share.count) if (split[r] === want) picked[n++] = r;
  }
  return picked.subarray(0, n);
}

/** Blocks per window: as many as WINDOW_CELLS allows, spread so that the windows are of equal size (no short last window). */
function blocksPerWindow(blocks: number, firstBlock: RecordBatch, windowCells: number): number {
  const fits = Math.max(1, Math.floor(windowCells / Math.max(1, firstBlock.numRows * firstBlock.numCols)));
  const windows = Math.ceil(blocks / fits);
  return Math.ceil(blocks / windows);
}

/** Batches of the window-shuffled enumeration in [fromBatch, toBatch); a yielded batch is valid until the next is asked for. */
export async function* shuffledModelBatches(fitted: FittedTransform, shards: EncodedShardRef[], options: ShuffleOptions): AsyncGenerator<ModelBatch> {
  const encoder = new FeatureEncoder(fitted);
  const transform = encoder.transform;
  const nnz = encoder.nonZerosPerRow;
  const featureCount = transform.features.length;
  const want = SPLIT_CODE[options.split];
  const batchSize = options.batchSize;
  if (!(batchSize >= 1)) throw new Error(`batchSize must be at least 1, got ${batchSize}`);
  const fromRow = Math.max(0, options.fromBatch ?? 0) * batchSize;
  const toBatch = options.toBatch ?? Infinity;
  if ((options.fromBatch ?? 0) >= toBatch) return;

  const group = await openGroup(shards);
  try {
    yield* windows(group.blocks);
  } finally {
    await group.close();
  }

  async function* windows(blocks: BlockRef[]): AsyncGenerator<ModelBatch> {
    shuffleInPlace(blocks, mulberry32(options.shuffleSeed));
    // Float32 columns without nulls are views of the block's bytes: loading a window to skip it costs its read.
    const load = async (ref: BlockRef): Promise<LoadedBlock> => {
      const batch = await ref.shard.read(ref.block);
      const picked = pickRows(batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array, batch.numRows, want, ref.ordinal, options.share);
      return {
        picked,
        labels: batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array,
        columns: transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array),
      };
    };
    if (blocks.length === 0) return;
    const perWindow = blocksPerWindow(blocks.length, await blocks[0]!.shard.read(blocks[0]!.block), options.windowCells ?? WINDOW_CELLS);

    const slots = new Int32Array(batchSize * nnz);
    const values = new Float32Array(batchSize * nnz);
    const codes = new Float32Array(batchSize * featureCount);
    const y = new Float32Array(batchSize);
    let filled = 0;
    let batchIndex = Math.max(0, options.fromBatch ?? 0);
    let streamRow = 0; // picked rows of the windows before this one
    for (let w = 0; w * perWindow < blocks.length; w++) {
      const refs = blocks.slice(w * perWindow, (w + 1) * perWindow);
      const loaded = await Promise.all(refs.map(load));
      const windowRows = loaded.reduce((n, b) => n + b.picked.length, 0);
      if (streamRow + windowRows <= fromRow) {
        streamRow += windowRows;
        continue;
      }
      // The window's rows copied row-major, block after block (sequential reads of each column),
      // so that the shuffled pass below reads one row's codes from one place, not one per column.
      const rowCodes = new Float32Array(windowRows * featureCount);
      const rowLabels = new Float32Array(windowRows);
      let start = 0;
      for (const block of loaded) {
        const { picked } = block;
        for (let f = 0; f < featureCount; f++) {
          const column = block.columns[f]!;
          for (let i = 0; i < picked.length; i++) rowCodes[(start + i) * featureCount + f] = column[picked[i]!]!;
        }
        for (let i = 0; i < picked.length; i++) rowLabels[start + i] = block.labels[picked[i]!]!;
        start += picked.length;
      }
      loaded.length = 0; // the blocks' bytes are no longer needed
      const order = new Uint32Array(windowRows);
      for (let i = 0; i < windowRows; i++) order[i] = i;
      shuffleInPlace(order, mulberry32(options.shuffleSeed ^ Math.imul(w + 1, 0x9e3779b1)));
      for (let i = Math.max(0, fromRow - streamRow); i < windowRows; i++) {
        const source = order[i]!;
        const row = codes.subarray(filled * featureCount, (filled + 1) * featureCount);
        row.set(rowCodes.subarray(source * featureCount, (source + 1) * featureCount));
        encoder.sparseInto(row, slots, values, filled * nnz);
        y[filled] = rowLabels[source]!;
        if (++filled === batchSize) {
          yield { rows: batchSize, slots, values, codes, y };
          filled = 0;
          if (++batchIndex >= toBatch) return;
        }
      }
      streamRow += windowRows;
    }
    if (filled > 0) {
      yield {
        rows: filled,
        slots: slots.subarray(0, filled * nnz),
        values: values.subarray(0, filled * nnz),
        codes: codes.subarray(0, filled * featureCount),
        y: y.subarray(0, filled),
      };
    }
  }
}

/** Rows of `split` in the shards for each of `shares` shares (one count when 1), from their split columns in one pass. */
export async function countSplitRows(shards: EncodedShardRef[], split: SplitName, shares = 1): Promise<number[]> {
  const want = SPLIT_CODE[split];
  const counts = new Array<number>(shares).fill(0);
  const group = await openGroup(shards);
  try {
    for (const ref of group.blocks) {
      const batch = await ref.shard.read(ref.block);
      const column = batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array;
      for (let r = 0; r < batch.numRows; r++) if (column[r] === want) counts[(r + ref.ordinal) % shares]!++;
    }
  } finally {
    await group.close();
  }
  return counts;
}
