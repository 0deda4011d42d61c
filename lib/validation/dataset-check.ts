import { createHash } from 'node:crypto';
import type { DatasetRef, ShardRef } from '../../contracts/refs';
import { PipelineInputError } from '../errors';
import { describeSource, type PipelineSpec } from '../spec/pipeline-spec';

/**
 * Validates the ingested dataset as a whole and names it: fails when the source gave no rows, or
 * when more rows were quarantined than `quarantine.maxBadRowFraction` tolerates (naming the
 * quarantine files, where every bad row waits with its reason). The dataset's hash is taken over
 * its shards' hashes in partition order, so it does not depend on which partition finished first.
 */
export function checkDataset(spec: PipelineSpec, shardRefs: readonly ShardRef[]): Omit<DatasetRef, 'statistics' | 'validation'> {
  const shards = [...shardRefs].sort((a, b) => a.partition - b.partition);
  const rows = shards.reduce((n, s) => n + s.rows, 0);
  const quarantinedRows = shards.reduce((n, s) => n + s.quarantinedRows, 0);
  const total = rows + quarantinedRows;
  const limit = spec.quarantine.maxBadRowFraction;
  if (total === 0) throw new PipelineInputError(`source: ${describeSource(spec.source)} returned no rows to train on.`);
  if (quarantinedRows / total > limit) {
    const files = shards.flatMap((s) => (s.quarantine ? [s.quarantine.uri] : []));
    throw new PipelineInputError(
      `${quarantinedRows} of ${total} rows (${((100 * quarantinedRows) / total).toFixed(2)}%) are malformed, over quarantine.maxBadRowFraction=${limit}. ` +
        `The rows and reasons are in: ${files.join(', ')}. Fix the source data or raise the threshold.`,
    );
  }
  const sha256 = createHash('sha256')
    .update(shards.map((s) => s.sha256).join('\n'))
    .digest('hex');
  return { source: describeSource(spec.source), shards, rows, quarantinedRows, sha256 };
}
