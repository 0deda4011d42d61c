import type { RecordBatch } from 'apache-arrow';
import { artifactPath } from '../artifacts/artifact-store';
import { indexShardBlocks, readShardBlock, type BlockIndex } from '../data/shard-blocks';
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
  index: BlockIndex;
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

/** The group's blocks in file order: shards by partition, then blocks as written (whatever order the shards were given in). */
async function groupBlocks(shards: EncodedShardRef[]): Promise<BlockRef[]> {
  const ordered = [...shards].sort((a, b) => a.partition - b.partition);
  const indexes = await Promise.all(ordered.map((s) => indexShardBlocks(artifactPath(s.uri))));
  let ordinal = 0;
  return indexes.flatMap((index) => index.blocks.map((_, block) => ({ index, block, ordinal: ordinal++ })));
}

/** Rows of the wanted split in a block, and of the share when given: row r of block b is share (r + b) mod count. */
function pickRows(split: Float32Array, rows: number, want: number, ordinal: number, share: RowShare | undefined): Uint32Array {
  const keep = (r: number): boolean => split[r] === want && (share === undefined || (r + ordinal) % share.count === share.index);
  let n = 0;
  for (let r = 0; r < rows; r++) if (keep(r)) n++;
  const picked = new Uint32Array(n);
  let at = 0;
  for (let r = 0; r < rows; r++) if (keep(r)) picked[at++] = r;
  return picked;
}

/** Blocks per window: as many as WINDOW_CELLS allows, spread so that the windows are of equal size (no short last window). */
function blocksPerWindow(blocks: number, firstBlock: RecordBatch, windowCells: number): number {
  const fits = Math.max(1, Math.floor(windowCells / Math.max(1, firstBlock.numRows * firstBlock.numCols)));
  const windows = Math.ceil(blocks / fits);
  return Math.ceil(blocks / windows);
}

/** The block holding window row `i`, given each block's first window row (ascending). */
function blockOfRow(starts: Uint32Array, i: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
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

  const blocks = await groupBlocks(shards);
  shuffleInPlace(blocks, mulberry32(options.shuffleSeed));
  // Float32 columns without nulls are views of the block's bytes: loading a window to skip it costs its read.
  const load = async (ref: BlockRef): Promise<LoadedBlock> => {
    const batch = await readShardBlock(ref.index, ref.block);
    const picked = pickRows(batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array, batch.numRows, want, ref.ordinal, options.share);
    return {
      picked,
      labels: batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array,
      columns: transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array),
    };
  };
  if (blocks.length === 0) return;
  const perWindow = blocksPerWindow(blocks.length, await readShardBlock(blocks[0]!.index, blocks[0]!.block), options.windowCells ?? WINDOW_CELLS);

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
    // The window's rows numbered block after block, shuffled together.
    const starts = new Uint32Array(loaded.length);
    for (let j = 1; j < loaded.length; j++) starts[j] = starts[j - 1]! + loaded[j - 1]!.picked.length;
    const order = new Uint32Array(windowRows);
    for (let i = 0; i < windowRows; i++) order[i] = i;
    shuffleInPlace(order, mulberry32(options.shuffleSeed ^ Math.imul(w + 1, 0x9e3779b1)));
    for (let i = Math.max(0, fromRow - streamRow); i < windowRows; i++) {
      const j = blockOfRow(starts, order[i]!);
      const block = loaded[j]!;
      const r = block.picked[order[i]! - starts[j]!]!;
      const row = codes.subarray(filled * featureCount, (filled + 1) * featureCount);
      for (let f = 0; f < featureCount; f++) row[f] = block.columns[f]![r]!;
      encoder.sparseInto(row, slots, values, filled * nnz);
      y[filled] = block.labels[r]!;
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

/** Rows of `split` in the shards (of a share, when given), from their split columns, a block at a time. */
export async function countSplitRows(shards: EncodedShardRef[], split: SplitName, share?: RowShare): Promise<number> {
  const want = SPLIT_CODE[split];
  let rows = 0;
  for (const ref of await groupBlocks(shards)) {
    const batch = await readShardBlock(ref.index, ref.block);
    rows += pickRows(batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array, batch.numRows, want, ref.ordinal, share).length;
  }
  return rows;
}
