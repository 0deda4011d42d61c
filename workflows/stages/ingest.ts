import type { PoolQueues, ShardRef } from '../../contracts';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { stageActivities } from '../support/stage-activities';
import type { StageHandle } from '../support/stage-tracker';

/**
 * Reads the source in parallel: checks it against the spec and plans partitions of equal work, then
 * one activity per partition (at most `source.partitions`, which the spec caps at 256), each writing one shard.
 */
export async function ingestSource(spec: PipelineSpec, queues: PoolQueues, stage: StageHandle): Promise<ShardRef[]> {
  const { planIngest, ingestPartition } = stageActivities('ingest', queues);
  const plan = await planIngest.executeWithOptions({ summary: `check the source and plan ${spec.source.partitions} partitions` }, [spec]);
  stage.setTotal(plan.partitions.length);
  return Promise.all(
    plan.partitions.map(async ({ partition, describe }) => {
      const summary = `ingest ${plan.schema.name} partition ${partition.partition}: ${describe}`;
      const shard = await ingestPartition.executeWithOptions({ summary }, [{ schema: plan.schema, partition }]);
      stage.tick();
      return shard;
    }),
  );
}
