import { loadConfig } from '../../lib/config';
import { readArtifactJson } from '../../lib/artifacts/artifact-store';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { datasetOfRun } from '../../lib/registry/dataset-registry';
import { formatStatisticsSummary } from '../../lib/reports/statistics-report';
import type { DatasetStatisticsArtifact } from '../../lib/validation/dataset-statistics';
import { formatValidationReport, type ValidationReport } from '../../lib/validation/validation-report';
import { resolveTarget } from '../client/target';

/** `pipewright report <run-id>`: the run's dataset statistics and its validation report (anomalies, drift). */
export async function reportCommand(runId: string | undefined): Promise<number> {
  if (!runId) throw new Error('usage: pipewright report <run-id>');
  const target = await resolveTarget(loadConfig(), false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL (or run `pipewright up`)');
  try {
    const dataset = await datasetOfRun(pgPool(target.databaseUrl), runId);
    if (!dataset) {
      console.error(
        `no dataset recorded for run "${runId}": the run does not exist, or it stopped before its validate stage (see pipewright status ${runId}).`,
      );
      return 1;
    }
    const statistics = await readArtifactJson<DatasetStatisticsArtifact>({ uri: dataset.statisticsUri });
    const validation = await readArtifactJson<ValidationReport>({ uri: dataset.validationUri });
    console.log(`Run ${runId} · pipeline ${dataset.pipeline} · source ${dataset.source}`);
    console.log(`${dataset.rows} rows ingested, ${dataset.quarantinedRows} quarantined · dataset sha256 ${dataset.sha256.slice(0, 16)}…\n`);
    console.log(formatStatisticsSummary(statistics.summary));
    console.log(`\n${formatValidationReport(validation)}`);
    console.log(`\nArtifacts: ${dataset.statisticsUri}\n           ${dataset.validationUri}`);
    return 0;
  } finally {
    await closePgPools();
  }
}
