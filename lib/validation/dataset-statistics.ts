import type { ArtifactRef, ShardRef } from '../../contracts/refs';
import { openArtifactStore, readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { finalizeStatistics, mergeStatistics, type DatasetStatistics, type DatasetSummary } from '../statistics/dataset-stats';

/** The dataset's statistics artifact: the merged, still mergeable state and its readable summary. */
export interface DatasetStatisticsArtifact {
  format: 'pipewright.statistics/v1';
  state: DatasetStatistics;
  summary: DatasetSummary;
}

/**
 * Merges the shards' statistics in partition order (so the artifact, and its URI, do not depend on
 * which shard finished first) and stores them with their summary.
 */
export async function mergeShardStatistics(
  artifactStore: ArtifactStoreSettings,
  shards: readonly ShardRef[],
): Promise<{ ref: ArtifactRef; statistics: DatasetStatisticsArtifact }> {
  const ordered = [...shards].sort((a, b) => a.partition - b.partition);
  let state: DatasetStatistics | null = null;
  for (const shard of ordered) {
    const next = await readArtifactJson<DatasetStatistics>(shard.statistics);
    state = state === null ? next : mergeStatistics(state, next);
  }
  if (state === null) throw new Error('no shards to merge statistics from');
  const statistics: DatasetStatisticsArtifact = { format: 'pipewright.statistics/v1', state, summary: finalizeStatistics(state) };
  return { ref: await openArtifactStore(artifactStore).putJson('statistics', statistics), statistics };
}
