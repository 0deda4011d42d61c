import type { IngestPartitionInput, IngestPlan, ShardRef } from '../contracts';
import { planPartitions } from '../lib/data/partition-planner';
import { planFileSource } from '../lib/data/files/file-source-plan';
import { describePartition, type Partition } from '../lib/data/partitions';
import { inspectSource, type SourceSchema } from '../lib/data/source-schema';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity, runTaskInActivity } from './support/run-task';

/** Rows per Arrow record batch in an ingested shard. */
const INGEST_BATCH_ROWS = 65_536;

/** The ingest stage: check the source against the spec, then read it in parallel partitions. */
export function createIngestActivities(deps: ActivityDeps) {
  return {
    /** Checks the source (a table, a query or files) against the spec and cuts it into partitions of about equal work. */
    async planIngest(spec: PipelineSpec): Promise<IngestPlan> {
      return runActivity(async () => {
        const { source } = spec;
        let plan: { schema: SourceSchema; partitions: Partition[]; rows: number | null };
        if (source.kind === 'postgres') {
          const schema = await inspectSource(db(deps), spec, source);
          plan = { schema, ...(await planPartitions(db(deps), source, schema)) };
        } else {
          plan = await planFileSource(spec, source);
        }
        const partitions = plan.partitions.map((partition) => ({ partition, describe: describePartition(partition, plan.schema.key) }));
        return { schema: plan.schema, rows: plan.rows, partitions };
      });
    },

    /** One partition into one Arrow IPC shard (malformed rows to its quarantine file), in a worker thread. */
    async ingestPartition({ schema, partition }: IngestPartitionInput): Promise<ShardRef> {
      return runTaskInActivity('ingestPartition', {
        databaseUrl: deps.databaseUrl,
        artifactStore: deps.artifactStore,
        schema,
        partition,
        batchRows: INGEST_BATCH_ROWS,
      });
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
