import type { IngestPartitionInput, IngestPlan, ShardRef } from '../contracts';
import { planKeyRanges } from '../lib/data/partitions';
import { inspectSource } from '../lib/data/source-schema';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity, runTaskInActivity } from './support/run-task';

/** Rows per Arrow record batch in an ingested shard. */
const INGEST_BATCH_ROWS = 65_536;

/** The ingest stage: check the source against the spec, then read it in parallel key ranges. */
export function createIngestActivities(deps: ActivityDeps) {
  return {
    /** Checks the source table against the spec and splits its key space into partitions. */
    async planIngest(spec: PipelineSpec): Promise<IngestPlan> {
      return runActivity(async () => {
        const schema = await inspectSource(db(deps), spec);
        // With source.limit, maxKey is already the last key of the first `limit` rows.
        return { schema, ranges: planKeyRanges(schema.minKey, schema.maxKey, spec.source.partitions) };
      });
    },

    /** One key range into one Arrow IPC shard (malformed rows to its quarantine file), in a worker thread. */
    async ingestPartition({ schema, range }: IngestPartitionInput): Promise<ShardRef> {
      return runTaskInActivity('ingestPartition', {
        databaseUrl: deps.databaseUrl,
        artifactRoot: deps.artifactRoot,
        table: schema.table,
        key: schema.key,
        columns: schema.columns,
        range,
        batchRows: INGEST_BATCH_ROWS,
      });
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
