import type { Pool } from 'pg';
import { readArtifactJson } from '../artifacts/artifact-store';
import { PipelineInputError } from '../errors';
import { fittedColumns, readTransform } from '../features/transform-format';
import { datasetOfRun } from '../registry/dataset-registry';
import { productionVersion } from '../registry/model-registry';
import { readLoggedPredictions } from '../serving/prediction-log';
import type { DatasetStatisticsArtifact } from '../validation/dataset-statistics';
import { checkDrift } from './drift-check';
import { checkLiveMetric } from './live-metric';
import type { MonitorSettings } from './monitor-spec';
import { verdictOf, type MonitorReport } from './monitor-report';
import { windowStatistics } from './window-statistics';

export interface ServingCheckInput extends MonitorSettings {
  /** End of the window (exclusive); it starts windowMinutes before. */
  until: Date;
  /** Most logged rows read (the earliest of the window first). Default 100,000. */
  maxRows?: number;
}

/**
 * One monitoring check of a model's production version: the window's logged rows (answered by that
 * version, in the production role) against the statistics of the dataset it was trained on, column
 * by column with the validate stage's drift measures; and, where labels arrived, the task's headline
 * metric on them against the version's registered value. Returns figures only, never rows.
 */
export async function checkServing(pool: Pool, input: ServingCheckInput): Promise<MonitorReport> {
  const { model } = input;
  const production = await productionVersion(pool, model);
  if (!production) throw new PipelineInputError(`model "${model}" has no production version to monitor; \`pipewright models list\` shows the models`);
  const dataset = await datasetOfRun(pool, production.runId);
  if (!dataset) {
    throw new PipelineInputError(
      `the run ${production.runId} that trained ${model} v${production.version} has no dataset record, so there are no training statistics to compare with`,
    );
  }
  const training = (await readArtifactJson<DatasetStatisticsArtifact>({ uri: dataset.statisticsUri })).state;
  const transform = await readTransform({ uri: production.transformUri });
  const columns = [...new Set(transform.features.flatMap(fittedColumns))];

  const since = new Date(input.until.getTime() - input.windowMinutes * 60_000);
  const logged = await readLoggedPredictions(pool, { model, since, until: input.until, role: 'production', limit: input.maxRows ?? 100_000 });
  const rows = logged.filter((r) => r.version === production.version);

  const window = windowStatistics(
    training,
    rows.map((r) => r.features),
    columns,
  );
  const drift = checkDrift(training, window, { minRows: input.minRows, thresholds: input.thresholds });
  const live = checkLiveMetric(transform, rows, production.metrics, { minLabels: input.minLabels, maxDrop: input.maxDrop });
  const { verdict, reason } = verdictOf(drift, live, input.windowMinutes);
  return {
    model,
    version: production.version,
    trainingRunId: production.runId,
    window: { since: since.toISOString(), until: input.until.toISOString(), minutes: input.windowMinutes },
    drift,
    live,
    verdict,
    reason,
  };
}
