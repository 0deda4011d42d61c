import { loadConfig } from '../lib/config';
import { ensureClusterBinaries, ensureUiServer } from './stack/temporal-cluster';

/**
 * Prints the paths of the Temporal server, its SQL tool and the Web UI server that `pipewright up
 * --cluster` runs, building what is missing first (used by .ci/run, which times it).
 */
const started = Date.now();
const log = (line: string): void => console.error(line);
(async () => {
  const config = loadConfig();
  const { server, sqlTool } = await ensureClusterBinaries(config, log);
  const ui = await ensureUiServer(config, log);
  for (const binary of [server, sqlTool, ui]) if (binary) console.log(binary);
  console.error(`Temporal server, SQL tool${ui ? ' and Web UI server' : ' (no Web UI server)'} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
})().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
