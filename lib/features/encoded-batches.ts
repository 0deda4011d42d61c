import type { RecordBatch } from 'apache-arrow';
import { localArtifactPath } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import { ENCODED_LABEL, ENCODED_SPLIT, encodedFeatureColumn } from './apply-transform';
import { FeatureEncoder } from './feature-encoder';
import type { FittedTransform } from './transform-format';
import { mulberry32, shuffleInPlace } from '../random';
import { SPLIT_CODE, type SplitName } from './split';
import type { EncodedShardRef } from '../../contracts/refs';
import { countSplitRows, shuffledModelBatches } from './shuffled-batches';
import type { RowShare } from '../../contracts/stages';

export interface DenseBatch {
  /** rows × inputDim, row-major. */
  x: Float32Array;
  y: Float32Array;
  rows: number;
}

export interface BatchOptions {
  split: SplitName;
  batchSize: number;
  /**
   * When set, rows are shuffled with this seed: denseBatches within each Arrow batch; modelBatches
   * across windows of randomly ordered blocks (see shuffled-batches.ts), as training needs.
   */
  shuffleSeed?: number;
}

/**
 * Streams dense model-input batches from encoded shards, expanding one-hot codes per batch so no
 * full dense matrix is ever held: memory is one Arrow batch plus one dense batch. A yielded batch
 * is only valid until the next is requested (its arrays are reused).
 */
export async function* denseBatches(fitted: FittedTransform, shards: EncodedShardRef[], options: BatchOptions): AsyncGenerator<DenseBatch> {
  // Any transform format: a run fitted before an upgrade trains and evaluates on in its v2 form.
  const encoder = new FeatureEncoder(fitted);
  const transform = encoder.transform;
  const dim = transform.inputDim;
  const wantTest = SPLIT_CODE[options.split];
  const featureCount = transform.features.length;
  const codes = new Float32Array(featureCount);
  // One buffer for every batch: a fresh 4096 x 234 array per step cost more in allocation and GC
  // than the expansion itself. Consumers copy a batch (into a tensor) before asking for the next.
  const xBuffer = new Float32Array(options.batchSize * dim);
  const yBuffer = new Float32Array(options.batchSize);
  for (const [s, shard] of shards.entries()) {
    let arrowBatchIndex = 0;
    for await (const batch of shardBatches(shard.uri)) {
      const isTest = batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array;
      const labels = batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array;
      const columns = transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array);
      const picked = pickRows(isTest, batch.numRows, wantTest);
      if (options.shuffleSeed !== undefined) shuffleInPlace(picked, mulberry32(rowShuffleSeed(options.shuffleSeed, s, arrowBatchIndex)));
      arrowBatchIndex++;
      for (let start = 0; start < picked.length; start += options.batchSize) {
        const rows = Math.min(options.batchSize, picked.length - start);
        const x = xBuffer.subarray(0, rows * dim);
        x.fill(0);
        const y = yBuffer.subarray(0, rows);
        for (let i = 0; i < rows; i++) {
          const r = picked[start + i]!;
          for (let f = 0; f < featureCount; f++) codes[f] = columns[f]![r]!;
          encoder.denseInto(codes, x, i * dim);
          y[i] = labels[r]!;
        }
        yield { x, y, rows };
      }
    }
  }
}

/**
 * A batch of model input in sparse form: each row as FeatureEncoder.nonZerosPerRow (slot, value)
 * pairs (its dense row is Σ value · e_slot), the raw feature codes, and the encoded label.
 */
export interface ModelBatch {
  rows: number;
  /** rows × nnz slot indices into the dense input vector, row-major. */
  slots: Int32Array;
  /** rows × nnz values at those slots. */
  values: Float32Array;
  /** rows × featureCount raw codes, as the encoded shard holds them. */
  codes: Float32Array;
  /** rows: the encoded label (0/1, class index, or a standardised value). */
  y: Float32Array;
}

export interface BatchRange {
  /** First batch index to yield (earlier batches are counted from the split column and skipped). */
  fromBatch?: number;
  /** Batch index to stop before (exclusive). */
  toBatch?: number;
}

/** Rows of `split` in one Arrow batch, as denseBatches and modelBatches pick them. */
function pickRows(isTest: Float32Array, rows: number, wantSplit: number): number[] {
  const picked: number[] = [];
  for (let r = 0; r < rows; r++) if (isTest[r] === wantSplit) picked.push(r);
  return picked;
}

function countRows(isTest: Float32Array, rows: number, wantSplit: number): number {
  let n = 0;
  for (let r = 0; r < rows; r++) if (isTest[r] === wantSplit) n++;
  return n;
}

function rowShuffleSeed(shuffleSeed: number, shardIndex: number, arrowBatchIndex: number): number {
  return shuffleSeed ^ Math.imul(shardIndex + 1, 0x9e3779b1) ^ arrowBatchIndex;
}

/**
 * Streams sparse model-input batches from encoded shards. With a shuffle seed (training), in the
 * window-shuffled order of shuffledModelBatches, ceil(rows / batchSize) batches. Without one
 * (scoring), the rows of each shard in file order, batches formed per Arrow batch, as denseBatches
 * does. `fromBatch` / `toBatch` select the half-open range [fromBatch, toBatch) of the
 * enumeration; batches before `fromBatch` are counted, never encoded. A yielded batch is valid
 * until the next is requested (its arrays are reused).
 */
export async function* modelBatches(
  fitted: FittedTransform,
  shards: EncodedShardRef[],
  options: BatchOptions & BatchRange & { share?: RowShare } & SplitSource,
): AsyncGenerator<ModelBatch> {
  if (options.shuffleSeed !== undefined) {
    if (options.splitFrom) throw new Error('splitFrom is for scoring, which reads rows in order: give no shuffleSeed');
    yield* shuffledModelBatches(fitted, shards, { ...options, shuffleSeed: options.shuffleSeed });
    return;
  }
  if (options.share) throw new Error('a share of the rows is for training, which shuffles: give a shuffleSeed');
  if (options.splitFrom && options.splitFrom.length !== shards.length) {
    throw new Error(`splitFrom gives ${options.splitFrom.length} shards for ${shards.length}: one per shard, in the same order`);
  }
  const encoder = new FeatureEncoder(fitted);
  const transform = encoder.transform;
  const nnz = encoder.nonZerosPerRow;
  const featureCount = transform.features.length;
  const wantSplit = SPLIT_CODE[options.split];
  const batchSize = options.batchSize;
  if (!(batchSize >= 1)) throw new Error(`batchSize must be at least 1, got ${batchSize}`);
  const fromBatch = Math.max(0, options.fromBatch ?? 0);
  const toBatch = options.toBatch ?? Infinity;
  if (fromBatch >= toBatch) return;
  const slotBuffer = new Int32Array(batchSize * nnz);
  const valueBuffer = new Float32Array(batchSize * nnz);
  const codeBuffer = new Float32Array(batchSize * featureCount);
  const yBuffer = new Float32Array(batchSize);
  let batchIndex = 0;
  for (const [s, shard] of shards.entries()) {
    for await (const { batch, isTest } of withSplitFlags(shard, options.splitFrom?.[s])) {
      const count = countRows(isTest, batch.numRows, wantSplit);
      const batchesHere = Math.ceil(count / batchSize);
      if (batchIndex + batchesHere <= fromBatch) {
        batchIndex += batchesHere;
        continue;
      }
      const picked = pickRows(isTest, batch.numRows, wantSplit);
      const labels = batch.getChild(ENCODED_LABEL)!.toArray() as Float32Array;
      const columns = transform.features.map((f) => batch.getChild(encodedFeatureColumn(f.name))!.toArray() as Float32Array);
      for (let start = 0; start < picked.length; start += batchSize, batchIndex++) {
        if (batchIndex >= toBatch) return;
        if (batchIndex < fromBatch) continue;
        const rows = Math.min(batchSize, picked.length - start);
        const codes = codeBuffer.subarray(0, rows * featureCount);
        const slots = slotBuffer.subarray(0, rows * nnz);
        const values = valueBuffer.subarray(0, rows * nnz);
        const y = yBuffer.subarray(0, rows);
        for (let i = 0; i < rows; i++) {
          const r = picked[start + i]!;
          const row = codes.subarray(i * featureCount, (i + 1) * featureCount);
          for (let f = 0; f < featureCount; f++) row[f] = columns[f]![r]!;
          encoder.sparseInto(row, slots, values, i * nnz);
          y[i] = labels[r]!;
        }
        yield { rows, slots, values, codes, y };
      }
      if (batchIndex >= toBatch) return;
    }
  }
}

/** Scoring one encoding of a shard with the split of another: see withSplitFlags. */
export interface SplitSource {
  /**
   * Per shard (same order), another encoding of the same raw shard whose `is_test` column decides
   * the split of the rows (both files hold the same rows in the same order): a baseline model,
   * encoded with its own transform, is then scored on exactly this run's test rows.
   */
  splitFrom?: EncodedShardRef[];
}

/** The record batches of the shard at `uri` (file://, or s3:// through the local cache). */
async function* shardBatches(uri: string): AsyncGenerator<RecordBatch> {
  yield* readShardBatches(await localArtifactPath(uri));
}

/**
 * A shard's record batches with the split flags of their rows: its own `is_test` column, or, with
 * `splitFrom`, that of another encoding of the same raw shard, read in lockstep row by row
 * (whatever either file's batch sizes); both files must end together.
 */
async function* withSplitFlags(shard: EncodedShardRef, splitFrom?: EncodedShardRef): AsyncGenerator<{ batch: RecordBatch; isTest: Float32Array }> {
  if (!splitFrom) {
    for await (const batch of shardBatches(shard.uri)) yield { batch, isTest: batch.getChild(ENCODED_SPLIT)!.toArray() as Float32Array };
    return;
  }
  const flags = new SplitFlags(splitFrom, shard);
  try {
    for await (const batch of shardBatches(shard.uri)) yield { batch, isTest: await flags.take(batch.numRows) };
    await flags.finish();
  } finally {
    await flags.close();
  }
}

/** The split column of an encoded shard as a stream of rows: take(n) gives the flags of the next n. */
class SplitFlags {
  private readonly batches: AsyncGenerator<RecordBatch>;
  private current: Float32Array = new Float32Array(0);
  private at = 0;
  private rowsRead = 0;

  constructor(
    private readonly source: EncodedShardRef,
    private readonly scored: EncodedShardRef,
  ) {
    this.batches = shardBatches(source.uri);
  }

  async take(n: number): Promise<Float32Array> {
    if (this.current.length - this.at >= n) {
      this.at += n;
      this.rowsRead += n;
      return this.current.subarray(this.at - n, this.at);
    }
    const out = new Float32Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.at === this.current.length) {
        const next = await this.batches.next();
        if (next.done) throw this.mismatch(`${this.source.uri} ends after ${this.rowsRead + filled} rows, before ${this.scored.uri} does`);
        this.current = next.value.getChild(ENCODED_SPLIT)!.toArray() as Float32Array;
        this.at = 0;
      }
      const k = Math.min(n - filled, this.current.length - this.at);
      out.set(this.current.subarray(this.at, this.at + k), filled);
      this.at += k;
      filled += k;
    }
    this.rowsRead += n;
    return out;
  }

  /** Throws unless the source has no rows left: both files must hold the same rows. */
  async finish(): Promise<void> {
    let left = this.current.length - this.at;
    for (let next = await this.batches.next(); !next.done; next = await this.batches.next()) left += next.value.numRows;
    if (left > 0) throw this.mismatch(`${this.source.uri} has ${left} rows more than the ${this.rowsRead} of ${this.scored.uri}`);
  }

  async close(): Promise<void> {
    await this.batches.return(undefined);
  }

  private mismatch(what: string): Error {
    return new Error(`the split flags do not line up: ${what}; splitFrom must be an encoding of the same raw shard (partition ${this.scored.partition})`);
  }
}

/** How many batches a training (shuffled) enumeration of modelBatches yields: ceil(rows / batchSize), from the split columns. */
export async function countBatches(
  fitted: FittedTransform,
  shards: EncodedShardRef[],
  options: Pick<BatchOptions, 'split' | 'batchSize'> & { share?: RowShare },
): Promise<number> {
  void fitted; // the count needs no feature; taken for symmetry with modelBatches
  const counts = await countSplitRows(shards, options.split, options.share?.count ?? 1);
  return Math.ceil(counts[options.share?.index ?? 0]! / options.batchSize);
}
