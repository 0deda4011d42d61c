import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { childEnvironment, type PipewrightConfig } from '../../lib/config';

/** The Temporal CLI release pipewright builds when none is installed (its go.mod has no `replace`). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** Where pipewright puts the CLI it builds (PIPEWRIGHT_CACHE_DIR/bin). */
export function temporalCliCacheDir(config: Pick<PipewrightConfig, 'cacheDir'>): string {
  return path.join(config.cacheDir, 'bin');
}

function onPath(binary: string, config: Pick<PipewrightConfig, 'executablePath'>): string | undefined {
  for (const dir of config.executablePath) {
    const candidate = path.join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function works(binary: string): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Finds an existing CLI without building: $TEMPORAL_CLI, PATH, then the pipewright cache. */
export function findTemporalCli(config: PipewrightConfig): string | undefined {
  const fromEnv = config.temporalCli;
  if (fromEnv) {
    if (!works(fromEnv))
      throw new Error(`TEMPORAL_CLI=${fromEnv} does not run (\`${fromEnv} --version\` failed); point it at a Temporal CLI binary or unset it.`);
    return fromEnv;
  }
  for (const candidate of [onPath('temporal', config), path.join(temporalCliCacheDir(config), 'temporal')]) {
    if (candidate && existsSync(candidate) && works(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Returns the path of a working `temporal` CLI: found, else built with `go install` into the cache
 * (a few minutes with an empty module cache). Throws one message naming what to install.
 */
export async function ensureTemporalCli(config: PipewrightConfig, log: (line: string) => void = () => undefined): Promise<string> {
  const found = findTemporalCli(config);
  if (found) return found;
  const cacheDir = temporalCliCacheDir(config);
  const problems: string[] = [];
  const go = onPath('go', config);
  if (go) {
    mkdirSync(cacheDir, { recursive: true });
    log(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${cacheDir}; this takes a few minutes the first time...`);
    const started = Date.now();
    const code = await new Promise<number>((resolve) => {
      const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], { env: childEnvironment({ GOBIN: cacheDir }), stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('exit', (c) => resolve(c ?? 1));
      child.on('error', () => resolve(1));
    });
    const built = path.join(cacheDir, 'temporal');
    if (code === 0 && works(built)) {
      log(`Built the Temporal CLI in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
      return built;
    }
    problems.push(`\`go install ${TEMPORAL_CLI_MODULE}\` failed (exit ${code}); it needs Go >= 1.25 and access to the Go module proxy`);
  } else {
    problems.push('Go is not installed, so the CLI cannot be built from source');
  }
  throw new Error(
    `No Temporal CLI found. Tried $TEMPORAL_CLI, PATH and ${cacheDir}.\n` +
      problems.map((p) => `  - ${p}`).join('\n') +
      `\nInstall one of: Go >= 1.25 (then pipewright builds the CLI); the Temporal CLI itself (https://temporal.io/setup; set TEMPORAL_CLI ` +
      `to its path if it is not on PATH); ` +
      `or point TEMPORAL_ADDRESS at a running Temporal server.`,
  );
}
