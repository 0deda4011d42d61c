import { loadConfig } from '../lib/config';
import { ensureGofakes3 } from './stack/object-store';

/** Prints the path of a working gofakes3 (the embedded S3 server), building it first when none is found (used by .ci/run). */
const started = Date.now();
ensureGofakes3(loadConfig(), (line) => console.error(line)).then(
  (binary) => {
    console.log(binary);
    console.error(`gofakes3 ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${binary}`);
  },
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
