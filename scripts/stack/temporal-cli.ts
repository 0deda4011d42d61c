import { type PipewrightConfig } from '../../lib/config';
import { ensureGoBinary, findGoBinary, type GoBinary } from './go-binary';

/** The Temporal CLI release pipewright builds when none is installed (its go.mod has no `replace`). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function temporalCli(config: PipewrightConfig): GoBinary {
  return {
    name: 'temporal',
    title: 'the Temporal CLI',
    module: TEMPORAL_CLI_MODULE,
    override: { variable: 'TEMPORAL_CLI', value: config.temporalCli },
    probeArgs: ['--version'],
    searchPath: true,
  };
}

/** Finds an existing CLI without building: $TEMPORAL_CLI, PATH, then the pipewright cache. */
export function findTemporalCli(config: PipewrightConfig): string | undefined {
  return findGoBinary(temporalCli(config), config);
}

/**
 * Returns the path of a working `temporal` CLI: found, else built with `go install` into the cache
 * (a few minutes with an empty module cache). Throws one message naming what to install, including
 * the alternative of pointing TEMPORAL_ADDRESS at a running server.
 */
export async function ensureTemporalCli(config: PipewrightConfig, log: (line: string) => void = () => undefined): Promise<string> {
  try {
    return await ensureGoBinary(temporalCli(config), config, log);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\nOr install the Temporal CLI itself (https://temporal.io/setup), or point TEMPORAL_ADDRESS at a running Temporal server.`,
      {
        cause: err,
      },
    );
  }
}
