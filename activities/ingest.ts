import type { IngestPartitionInput, IngestPlan, ShardRef } from '../contracts';
import { planPartitions } from '../lib/data/partition-planner';
import { describePartition } from '../lib/data/partitions';
import { inspectSource } from '../lib/data/source-schema';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity, runTaskInActivity } from './support/run-task';

/** Rows per Arrow record batch in an ingested shard. */
const INGEST_BATCH_ROWS = 65_536;

/** The ingest stage: check the source against the spec, then read it in parallel partitions. */
export function createIngestActivities(deps: ActivityDeps) {
  return {
    /** Checks the source against the spec and cuts it into partitions of about equal work. */
    async planIngest(spec: PipelineSpec): Promise<IngestPlan> {
      return runActivity(async () => {
        const schema = await inspectSource(db(deps), spec);
        const plan = await planPartitions(db(deps), spec.source, schema);
        return { schema, rows: plan.rows, partitions: plan.partitions.map((partition) => ({ partition, describe: describePartition(partition, schema.key) })) };
      });
    },

    /** One partition into one Arrow IPC shard (malformed rows to its quarantine file), in a worker thread. */
    async ingestPartition({ schema, partition }: IngestPartitionInput): Promise<ShardRef> {
      return runTaskInActivity('ingestPartition', {
        databaseUrl: deps.databaseUrl,
        artifactRoot: deps.artifactRoot,
        schema,
        partition,
        batchRows: INGEST_BATCH_ROWS,
      });
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
