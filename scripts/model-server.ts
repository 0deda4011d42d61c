import { artifactStoreSettings, openArtifactStore } from '../lib/artifacts/artifact-store';
import { loadConfig } from '../lib/config';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { createLogger } from '../lib/logging/logger';
import { ModelServer } from '../lib/serving/model-server';
import { PredictionLog, recordFeedback } from '../lib/serving/prediction-log';

/** The model server as its own process: serves the registry's production versions, logs predictions to PostgreSQL. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('model-server', config.logLevel);
  if (!config.databaseUrl) {
    logger.fatal('set DATABASE_URL to the registry database (pipewright up sets it)');
    process.exit(2);
  }
  const pool = pgPool(config.databaseUrl);
  // Models and transforms are read from the artifact store: open it, so s3:// URIs resolve (through the local cache).
  openArtifactStore(artifactStoreSettings(config));
  const predictionLog = config.serving.predictionLog
    ? new PredictionLog(pool, { onDrop: (rows, reason) => logger.warn({ rows, reason }, 'prediction log rows dropped') })
    : undefined;
  const server = new ModelServer(pool, {
    logger,
    batching: { maxBatchRows: config.serving.maxBatchRows, maxWaitMs: config.serving.maxBatchWaitMs },
    ...(predictionLog ? { predictionLog, feedback: (input) => recordFeedback(pool, input) } : {}),
  });
  const port = await server.start(config.servePort, config.serveHost);
  logger.info(
    { port, backend: server.backend, models: server.models.served(), batching: config.serving, predictionLog: Boolean(predictionLog) },
    'model server listening',
  );
  const shutdown = async (): Promise<void> => {
    await server.stop();
    await predictionLog?.close();
    await closePgPools();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(`pipewright model server failed to start: ${(err as Error).message}`);
  process.exit(1);
});
