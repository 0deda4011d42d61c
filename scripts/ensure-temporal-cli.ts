import { loadConfig } from '../lib/config';
import { ensureTemporalCli } from './stack/temporal-cli';

/** Prints the path of a working Temporal CLI, building it first when none is found (used by .ci/run). */
const started = Date.now();
ensureTemporalCli(loadConfig(), (line) => console.error(line)).then(
  (cli) => {
    console.log(cli);
    console.error(`Temporal CLI ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cli}`);
  },
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
