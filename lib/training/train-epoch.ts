import type { TrainEpochInput, TrainEpochResult } from '../../contracts/stages';
import { readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { countBatches } from '../features/encoded-batches';
import type { FittedTransform } from '../features/transform';
import { modelSpecSchema } from '../spec/model-spec';
import { trainShards, type TrainProgress } from './train-shards';

/** The legacy epoch activity's task, as it runs today: one worker over every shard, as a single data-parallel round. */
export type TrainEpochTask = TrainEpochInput & { artifactStore: ArtifactStoreSettings };

/**
 * Runs a whole epoch in one activity, for training runs whose workflow started before
 * data-parallel epochs (their history asks for this activity). Their spec predates some model
 * fields, which take their defaults here.
 */
export async function trainEpoch(input: TrainEpochTask, progress: TrainProgress): Promise<TrainEpochResult> {
  const model = modelSpecSchema.parse(input.model);
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const batches = await countBatches(transform, input.shards, { split: 'train', batchSize: model.batchSize });
  const result = await trainShards(
    {
      model,
      transform: input.transform,
      shards: input.shards,
      epoch: input.epoch,
      round: 0,
      worker: 0,
      fromBatch: 0,
      toBatch: batches,
      batchesPerEpoch: batches,
      artifactStore: input.artifactStore,
      ...(input.from ? { from: input.from } : {}),
    },
    progress,
  );
  return { checkpoint: result.checkpoint, backend: result.backend, loss: result.lossSum / result.samples, samples: result.samples, seconds: result.seconds };
}
