import type { PoolQueues, ShardRef } from '../../contracts';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { stageActivities } from '../support/stage-activities';
import type { StageHandle } from '../support/stage-tracker';

/**
 * Reads the source in parallel: checks it against the spec and plans key ranges, then one activity
 * per range (at most `source.partitions`, which the spec caps at 256), each writing one shard.
 */
export async function ingestSource(spec: PipelineSpec, queues: PoolQueues, stage: StageHandle): Promise<ShardRef[]> {
  const { planIngest, ingestPartition } = stageActivities('ingest', queues);
  const plan = await planIngest.executeWithOptions({ summary: `check ${spec.source.table} and plan ${spec.source.partitions} partitions` }, [spec]);
  stage.setTotal(plan.ranges.length);
  return Promise.all(
    plan.ranges.map(async (range) => {
      const summary = `ingest ${plan.schema.table} partition ${range.partition}: ${plan.schema.key} in [${range.lo}, ${range.hi})`;
      const shard = await ingestPartition.executeWithOptions({ summary }, [{ schema: plan.schema, range }]);
      stage.tick();
      return shard;
    }),
  );
}
