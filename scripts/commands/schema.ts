import { loadConfig } from '../../lib/config';
import { openArtifactStore, readArtifactJson } from '../../lib/artifacts/artifact-store';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { datasetOfRun, pipelineSchema, replacePipelineSchema } from '../../lib/registry/dataset-registry';
import type { DatasetStatisticsArtifact } from '../../lib/validation/dataset-statistics';
import { inferSchema } from '../../lib/validation/schema';
import { resolveTarget } from '../client/target';
import { commandArtifactStore } from '../stack/object-store';

/**
 * `pipewright schema <pipeline>` prints the schema later runs are validated against;
 * `--accept <run-id>` replaces it with the one inferred from that run's dataset, when a change in
 * the data (a new column, a new category, a wider range) is intended.
 */
export async function schemaCommand(pipeline: string | undefined, options: { accept?: string }): Promise<number> {
  if (!pipeline) throw new Error('usage: pipewright schema <pipeline> [--accept <run-id>]');
  const config = loadConfig();
  const target = await resolveTarget(config, false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL (or run `pipewright up`)');
  openArtifactStore(commandArtifactStore(config, target.s3Endpoint));
  const pool = pgPool(target.databaseUrl);
  try {
    if (options.accept !== undefined) {
      const dataset = await datasetOfRun(pool, options.accept);
      if (!dataset || dataset.pipeline !== pipeline) {
        console.error(`run "${options.accept}" has no dataset of pipeline "${pipeline}"; pick a run of it (pipewright report <run-id>).`);
        return 1;
      }
      const statistics = await readArtifactJson<DatasetStatisticsArtifact>({ uri: dataset.statisticsUri });
      await replacePipelineSchema(pool, pipeline, inferSchema(statistics.state), options.accept);
      console.log(`The schema of ${pipeline} is now the one inferred from run ${options.accept}.`);
      return 0;
    }
    const stored = await pipelineSchema(pool, pipeline);
    if (!stored) {
      console.error(`pipeline "${pipeline}" has no schema yet: its first run infers one.`);
      return 1;
    }
    console.log(`# schema of ${pipeline}, inferred from run ${stored.runId} on ${stored.createdAt.toISOString()}`);
    console.log(JSON.stringify(stored.schema, null, 2));
    return 0;
  } finally {
    await closePgPools();
  }
}
