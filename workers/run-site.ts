import os from 'node:os';
import { Worker } from '@temporalio/worker';
import { siteTaskQueue } from '../contracts';
import { dataConverterFor } from '../contracts/payload-codec';
import { createSiteActivities } from '../activities/federated-site';
import { artifactStoreSettings, openArtifactStore } from '../lib/artifacts/artifact-store';
import { loadConfig } from '../lib/config';
import { migrate } from '../lib/db/migrations';
import { pgPool } from '../lib/db/pg-pools';
import { loadSiteSecret } from '../lib/federated/site-secret';
import { createLogger } from '../lib/logging/logger';
import { activitiesOfStages } from './pool-activities';
import { connectWorker, fail } from './run-pool';

/**
 * A federated site: one worker on the site's own task queue (<prefix>site-<name>) that runs the
 * ingest, validate and transform steps against the site's own database (DATABASE_URL) and store
 * (PIPEWRIGHT_HOME / PIPEWRIGHT_ARTIFACT_STORE), and the site's federated steps, which write what
 * may leave the site to the coordinator's store (PIPEWRIGHT_FEDERATION_STORE). No other worker
 * polls this queue, so the site's rows are read by this process only.
 */
export async function runSite(site: string): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(`site-${site}`, config.logLevel);
  if (!config.databaseUrl) fail(`site "${site}" needs DATABASE_URL: the site's own PostgreSQL, where its table is.`);
  if (!config.federation.store)
    fail(`site "${site}" needs PIPEWRIGHT_FEDERATION_STORE: the coordinator's artifact store (file:///path or s3://bucket), where updates go.`);
  const artifactStore = artifactStoreSettings(config);
  const exchangeStore = artifactStoreSettings({ ...config, artifactStore: config.federation.store });
  if (artifactStore.url === exchangeStore.url)
    fail(
      `site "${site}": its artifact store and PIPEWRIGHT_FEDERATION_STORE are both ${artifactStore.url}; give the site a store of its own (PIPEWRIGHT_HOME or PIPEWRIGHT_ARTIFACT_STORE).`,
    );
  // Both opened here, so task threads resolve s3:// URIs of either store.
  openArtifactStore(artifactStore);
  openArtifactStore(exchangeStore);
  await migrate(pgPool(config.databaseUrl));
  const deps = { databaseUrl: config.databaseUrl, artifactStore, serveUrl: config.serveUrl };
  const activities = {
    // The site's own data steps; not the coordinator's (federate), which share the cpu pool.
    ...activitiesOfStages(['ingest', 'validate', 'transform'], deps, `site ${site}`),
    ...createSiteActivities({ ...deps, site, exchangeStore, keySecret: loadSiteSecret(config.federation.siteSecret, config.home) }),
  };
  const { connection, address } = await connectWorker(config);
  const taskQueue = siteTaskQueue(site, config.queuePrefix);
  const worker = await Worker.create({
    connection,
    dataConverter: dataConverterFor(config),
    namespace: config.temporalNamespace,
    taskQueue,
    identity: `site-${site}@${os.hostname()}:${process.pid}`,
    activities,
    maxConcurrentActivityTaskExecutions: config.slots.cpu,
    maxHeartbeatThrottleInterval: '1s',
  });
  logger.info({ taskQueue, address, store: artifactStore.url, exchange: exchangeStore.url }, `[site ${site}] polling ${taskQueue}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
