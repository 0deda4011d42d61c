import { loadConfig } from '../lib/config';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { ModelServer } from '../lib/serving/model-server';

/** The model server as its own process: serves the registry's production versions. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    console.error('pipewright model server: set DATABASE_URL to the registry database (pipewright up sets it).');
    process.exit(2);
  }
  const server = new ModelServer(pgPool(config.databaseUrl));
  const port = await server.start(config.servePort, config.serveHost);
  console.log(`[model-server] listening on :${port} (backend ${server.backend})`);
  const shutdown = async (): Promise<void> => {
    await server.stop();
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
