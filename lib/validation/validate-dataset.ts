import type { Pool } from 'pg';
import type { ArtifactRef, DatasetRef, ShardRef } from '../../contracts/refs';
import { openArtifactStore, readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { ensurePipelineSchema, previousDataset, recordDataset } from '../registry/dataset-registry';
import { featureColumnsOf, type PipelineSpec } from '../spec/pipeline-spec';
import type { DatasetStatistics } from '../statistics/dataset-stats';
import { checkDataset } from './dataset-check';
import { mergeShardStatistics, type DatasetStatisticsArtifact } from './dataset-statistics';
import { inferSchema, parseDataSchema } from './schema';
import { assertValidationPassed, buildValidationReport } from './validation-report';

export interface ValidateDatasetTask {
  pool: Pool;
  artifactStore: ArtifactStoreSettings;
  /** The pipeline run (its workflow id): the key of its dataset record. */
  runId: string;
  spec: PipelineSpec;
  shards: readonly ShardRef[];
}

/** The baseline for drift: the statistics of the pipeline's last dataset that passed, if its artifact is still there. */
async function previousStatistics(pool: Pool, pipeline: string, runId: string): Promise<DatasetStatistics | undefined> {
  const previous = await previousDataset(pool, pipeline, runId);
  if (previous === null) return undefined;
  try {
    return (await readArtifactJson<DatasetStatisticsArtifact>({ uri: previous.statisticsUri })).state;
  } catch (err) {
    // An artifact store cleaned since then leaves no baseline: this run is validated against the schema alone.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The validate stage, TFX's StatisticsGen + SchemaGen + ExampleValidator in one step: the quarantine
 * threshold and dataset hash, the shards' statistics merged, the schema inferred on the pipeline's
 * first run (and stored), anomalies against it and drift against the last dataset that passed. The
 * report is stored and recorded for `pipewright report` whether or not it passes; errors then fail
 * the run with a non-retryable error naming each one.
 */
export async function validateDataset(task: ValidateDatasetTask): Promise<DatasetRef> {
  const { pool, spec, runId } = task;
  const checked = checkDataset(spec, task.shards);
  const { ref: statisticsRef, statistics } = await mergeShardStatistics(task.artifactStore, checked.shards);
  const { schema: stored } = await ensurePipelineSchema(pool, spec.name, inferSchema(statistics.state), runId);
  const schema = parseDataSchema(stored, `of pipeline "${spec.name}" (pipewright_schemas)`);
  const featureColumns = [...new Set(spec.features.flatMap(featureColumnsOf))];
  const report = buildValidationReport({
    schema,
    stats: statistics.state,
    previous: await previousStatistics(pool, spec.name, runId),
    checks: spec.validation,
    featureColumns,
  });
  const reportRef: ArtifactRef = await openArtifactStore(task.artifactStore).putJson('validation', report);
  await recordDataset(pool, {
    runId,
    pipeline: spec.name,
    source: checked.source,
    rows: checked.rows,
    quarantinedRows: checked.quarantinedRows,
    sha256: checked.sha256,
    statisticsUri: statisticsRef.uri,
    validationUri: reportRef.uri,
    passed: report.passed,
  });
  try {
    assertValidationPassed(report);
  } catch (err) {
    (err as Error).message +=
      `\nThe whole report: pipewright report ${runId}\nIf this data is right, make its shape the schema: pipewright schema ${spec.name} --accept ${runId}`;
    throw err;
  }
  return { ...checked, statistics: statisticsRef, validation: { report: reportRef, errors: report.errors, warnings: report.warnings } };
}
