import { createHash } from 'node:crypto';
import { PipelineInputError } from '../lib/errors';
import { planKeyRanges, type KeyRange } from '../lib/data/partitions';
import { inspectSource, type SourceSchema } from '../lib/data/source-schema';
import type { DatasetRef, EncodedShardRef, ShardRef, TransformRef } from '../lib/refs';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { dbOf, type ActivityDeps } from './deps';
import { runTaskInActivity, withInputErrors } from './run-task';

export interface IngestPlan {
  schema: SourceSchema;
  ranges: KeyRange[];
}

const INGEST_BATCH_ROWS = 65_536;

/** Activities of the cpu pool: ingest, validation, transforms. */
export function createCpuActivities(deps: ActivityDeps) {
  return {
    /** Checks the source table against the spec and splits its key space into partitions. */
    async planIngest(spec: PipelineSpec): Promise<IngestPlan> {
      return withInputErrors(async () => {
        const schema = await inspectSource(dbOf(deps), spec);
        // With source.limit, maxKey is already the last key of the first `limit` rows.
        return { schema, ranges: planKeyRanges(schema.minKey, schema.maxKey, spec.source.partitions) };
      });
    },

    async ingestPartition(plan: { schema: SourceSchema; range: KeyRange }): Promise<ShardRef> {
      return runTaskInActivity('ingestPartition', {
        databaseUrl: deps.databaseUrl,
        artifactRoot: deps.artifactRoot,
        table: plan.schema.table,
        key: plan.schema.key,
        columns: plan.schema.columns,
        range: plan.range,
        batchRows: INGEST_BATCH_ROWS,
      });
    },

    /**
     * Validates the ingested dataset as a whole: fails (non-retryably) when more rows were
     * quarantined than the spec tolerates, and names the dataset by the hash of its shards.
     */
    async checkDataset(input: { spec: PipelineSpec; shards: ShardRef[] }): Promise<DatasetRef> {
      return withInputErrors(async () => {
        const shards = [...input.shards].sort((a, b) => a.partition - b.partition);
        const rows = shards.reduce((n, s) => n + s.rows, 0);
        const quarantinedRows = shards.reduce((n, s) => n + s.quarantinedRows, 0);
        const total = rows + quarantinedRows;
        const limit = input.spec.quarantine.maxBadRowFraction;
        if (total === 0) throw new PipelineInputError(`source.table: "${input.spec.source.table}" returned no rows to train on.`);
        if (quarantinedRows / total > limit) {
          const files = shards.filter((s) => s.quarantine).map((s) => s.quarantine!.uri);
          throw new PipelineInputError(
            `${quarantinedRows} of ${total} rows (${((100 * quarantinedRows) / total).toFixed(2)}%) are malformed, over quarantine.maxBadRowFraction=${limit}. ` +
              `The rows and reasons are in: ${files.join(', ')}. Fix the source data or raise the threshold.`,
          );
        }
        const sha256 = createHash('sha256').update(shards.map((s) => s.sha256).join('\n')).digest('hex');
        return { table: input.spec.source.table, shards, rows, quarantinedRows, sha256 };
      });
    },

    async fitTransform(input: { spec: PipelineSpec; dataset: DatasetRef }): Promise<TransformRef> {
      return runTaskInActivity('fitTransform', { artifactRoot: deps.artifactRoot, spec: input.spec, shards: input.dataset.shards });
    },

    async applyTransform(input: { transform: TransformRef; shard: ShardRef }): Promise<EncodedShardRef> {
      return runTaskInActivity('applyTransform', { artifactRoot: deps.artifactRoot, transform: input.transform, shard: input.shard });
    },
  };
}

export type CpuActivities = ReturnType<typeof createCpuActivities>;
