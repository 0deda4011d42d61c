import type { DatasetRef, EncodedShardRef, PoolQueues, TransformRef } from '../../contracts';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { stageActivities } from '../support/stage-activities';
import type { StageHandle } from '../support/stage-tracker';

export interface TransformedDataset {
  /** The fitted transform, which the model server applies too. */
  transform: TransformRef;
  encoded: EncodedShardRef[];
}

/** Fits the transform on the train split, then encodes every shard in parallel (one activity per shard). */
export async function transformDataset(spec: PipelineSpec, dataset: DatasetRef, queues: PoolQueues, stage: StageHandle): Promise<TransformedDataset> {
  const { fitTransform, applyTransform } = stageActivities('transform', queues);
  const transform = await fitTransform.executeWithOptions({ summary: `fit transform on the train split of ${dataset.rows} rows` }, [{ spec, dataset }]);
  stage.tick();
  const encoded = await Promise.all(
    dataset.shards.map(async (shard) => {
      const out = await applyTransform.executeWithOptions({ summary: `apply transform to shard ${shard.partition}` }, [{ transform, shard }]);
      stage.tick();
      return out;
    }),
  );
  return { transform, encoded };
}
