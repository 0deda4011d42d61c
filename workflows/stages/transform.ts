import type { DatasetRef, EncodedShardRef, PoolQueues, StepReuse, TransformRef } from '../../contracts';
import type { StepEntry } from '../../lib/cache/step-cache';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { stageActivities } from '../support/stage-activities';
import type { StageHandle } from '../support/stage-tracker';

export interface TransformedDataset {
  /** The fitted transform, which the model server applies too. */
  transform: TransformRef;
  encoded: EncodedShardRef[];
  /** What this stage computed (not reused), for the step cache. */
  computed: StepEntry[];
}

/**
 * Fits the transform on the train split, then encodes every shard in parallel (one activity per
 * shard); a fit or a shard an earlier run finished with the same inputs is reused from the step cache.
 */
export async function transformDataset(
  spec: PipelineSpec,
  dataset: DatasetRef,
  steps: StepReuse,
  queues: PoolQueues,
  stage: StageHandle,
): Promise<TransformedDataset> {
  const { fitTransform, applyTransform } = stageActivities('transform', queues);
  const computed: StepEntry[] = [];
  let transform: TransformRef;
  if (steps.fit) {
    transform = steps.fit.result;
    stage.reused('fitted transform', steps.fit.runId);
  } else {
    transform = await fitTransform.executeWithOptions({ summary: `fit transform on the train split of ${dataset.rows} rows` }, [{ spec, dataset }]);
    computed.push({ key: steps.keys.fit, step: 'fit', result: transform });
    stage.tick();
  }
  const encoded = await Promise.all(
    dataset.shards.map(async (shard) => {
      const hit = steps.apply[shard.partition];
      if (hit) {
        stage.reused(`shard ${shard.partition} encoded`, hit.runId);
        return hit.result;
      }
      const out = await applyTransform.executeWithOptions({ summary: `apply transform to shard ${shard.partition}` }, [{ transform, shard }]);
      computed.push({ key: steps.keys.apply[shard.partition]!, step: 'apply', result: out });
      stage.tick();
      return out;
    }),
  );
  return { transform, encoded, computed };
}
