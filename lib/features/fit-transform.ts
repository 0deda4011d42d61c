import type { Data, Float64, RecordBatch, Utf8 } from 'apache-arrow';
import { ArtifactStore, artifactPath } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import type { ShardRef, TransformRef } from '../../contracts/refs';
import { rowIdColumn, type PipelineSpec } from '../spec/pipeline-spec';
import { isTestRow } from './split';
import { TransformStatistics } from './transform-statistics';
import type { FittedTransformV2 } from './transform-format';
import { Utf8Interner } from './utf8-interner';

export interface FitTransformTask {
  artifactRoot: string;
  spec: PipelineSpec;
  shards: ShardRef[];
}

/**
 * Streams the train rows of every shard once and fits every feature: scalers, imputations,
 * vocabularies, quantile boundaries. One pass for every kind: the imputed values join the scaling
 * statistics at the end instead of in a second pass (see NumericFit), and medians and quantiles
 * come from bounded value counts (see ValueDistribution). Memory is one batch plus the statistics.
 */
export async function fitTransform(input: FitTransformTask, progress: (rows: number) => void): Promise<TransformRef> {
  const { spec } = input;
  const stats = new TransformStatistics(spec.features);
  const categories = new CategoryCounts(spec);
  let seen = 0;
  for (const shard of input.shards) {
    for await (const batch of readShardBatches(artifactPath(shard.uri))) {
      accumulate(stats, categories, spec, batch);
      seen += batch.numRows;
      progress(seen);
    }
  }
  categories.addTo(stats);
  if (stats.rows === 0) throw new Error('the train split is empty: there are no rows to fit the transform on');
  const fitted: FittedTransformV2 = stats.fit(spec);
  const ref = await new ArtifactStore(input.artifactRoot).putJson('transforms', fitted);
  return { ...ref, inputDim: fitted.inputDim, trainRows: fitted.trainRows };
}

/** Train-split counts of each categorical feature's distinct values, by interned id. */
class CategoryCounts {
  private readonly features: Array<{ name: string; column: string; interner: Utf8Interner; counts: number[] }>;
  private ids = new Int32Array(0);

  constructor(spec: PipelineSpec) {
    this.features = spec.features.flatMap((f) =>
      f.kind === 'categorical' ? [{ name: f.name, column: f.column, interner: new Utf8Interner(), counts: [] }] : [],
    );
  }

  add(batch: RecordBatch, isTest: Uint8Array): void {
    if (this.ids.length < batch.numRows) this.ids = new Int32Array(batch.numRows);
    for (const f of this.features) {
      f.interner.intern(batch.getChild(f.column)!.data[0] as Data<Utf8>, this.ids);
      for (let r = 0; r < batch.numRows; r++) {
        const id = this.ids[r]!;
        if (isTest[r] || id < 0) continue;
        f.counts[id] = (f.counts[id] ?? 0) + 1;
      }
    }
  }

  addTo(stats: TransformStatistics): void {
    for (const f of this.features) f.counts.forEach((count, id) => stats.addCategory(f.name, f.interner.values[id]!, count));
  }
}

function accumulate(stats: TransformStatistics, categories: CategoryCounts, spec: PipelineSpec, batch: RecordBatch): void {
  const keys = batch.getChild(rowIdColumn(spec.source))!.toArray() as Float64Array;
  const isTest = new Uint8Array(batch.numRows);
  for (let r = 0; r < batch.numRows; r++) {
    if (isTestRow(keys[r]!, spec.split.seed, spec.split.testFraction)) isTest[r] = 1;
    else stats.rows++;
  }
  categories.add(batch, isTest);
  for (const f of spec.features) {
    // hashed, cross and the calendar kinds learn nothing from the data.
    if (f.kind !== 'numeric' && f.kind !== 'quantileBuckets') continue;
    const data = batch.getChild(f.column)!.data[0] as Data<Float64>;
    stats.addNumbers(f.name, data.values, data.nullCount > 0 ? data.nullBitmap : null, data.offset, isTest, batch.numRows);
  }
}
