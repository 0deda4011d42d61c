import type { RecordBatch } from 'apache-arrow';
import { ArtifactStore, artifactPath } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import type { ShardRef, TransformRef } from '../refs';
import type { PipelineSpec } from '../spec/pipeline-spec';
import { isTestRow } from './split';
import { TransformStatistics, type FittedTransform } from './transform';

export interface FitTransformInput {
  artifactRoot: string;
  spec: PipelineSpec;
  shards: ShardRef[];
}

/** Streams the train rows of every shard once and fits scalers and vocabularies. */
export async function fitTransform(input: FitTransformInput, progress: (rows: number) => void): Promise<TransformRef> {
  const { spec } = input;
  const stats = new TransformStatistics(spec.features);
  let seen = 0;
  for (const shard of input.shards) {
    for await (const batch of readShardBatches(artifactPath(shard.uri))) {
      accumulate(stats, spec, batch);
      seen += batch.numRows;
      progress(seen);
    }
  }
  if (stats.rows === 0) throw new Error('the train split is empty: there are no rows to fit the transform on');
  const fitted: FittedTransform = stats.fit(spec);
  const ref = await new ArtifactStore(input.artifactRoot).putJson('transforms', fitted);
  return { ...ref, inputDim: fitted.inputDim, trainRows: fitted.trainRows };
}

function accumulate(stats: TransformStatistics, spec: PipelineSpec, batch: RecordBatch): void {
  const keys = batch.getChild(spec.source.key)!.toArray() as Float64Array;
  const columns = spec.features.map((f) => batch.getChild(f.column)!);
  const numericValues = spec.features.map((f, i) => (f.kind === 'numeric' ? (columns[i]!.toArray() as Float64Array) : null));
  for (let r = 0; r < batch.numRows; r++) {
    if (isTestRow(keys[r]!, spec.split.seed, spec.split.testFraction)) continue;
    stats.rows++;
    spec.features.forEach((f, i) => {
      if (f.kind === 'numeric') stats.addNumeric(f.name, numericValues[i]![r]!);
      else if (f.kind === 'categorical') stats.addCategory(f.name, columns[i]!.get(r) as string | null);
    });
  }
}
