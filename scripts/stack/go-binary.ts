import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { childEnvironment, type PipewrightConfig } from '../../lib/config';

/** A program pipewright runs and, where none is installed, builds from the Go module proxy. */
export interface GoBinary {
  /** Executable name, as installed by `go install` (the last element of the package path). */
  name: string;
  /** What it is, for messages: "the Temporal CLI". */
  title: string;
  /** `go install` argument: package@version. */
  module: string;
  /** The setting that names an existing binary (TEMPORAL_CLI, ...), and its value. */
  override?: { variable: string; value: string | undefined };
  /** Arguments that make a working binary exit quickly with `probeExitCode`. */
  probeArgs: string[];
  /** The exit code of a working binary run with `probeArgs` (default 0; gofakes3 has no flag that exits 0, and `-h` exits 1). */
  probeExitCode?: number;
  /** Whether to look on PATH (binaries with generic names such as `server` should not be). */
  searchPath: boolean;
}

export type BinaryConfig = Pick<PipewrightConfig, 'cacheDir' | 'executablePath'>;

/** Where pipewright puts the programs it builds (PIPEWRIGHT_CACHE_DIR/bin). */
export function binaryCacheDir(config: Pick<PipewrightConfig, 'cacheDir'>): string {
  return path.join(config.cacheDir, 'bin');
}

export function onPath(binary: string, config: Pick<PipewrightConfig, 'executablePath'>): string | undefined {
  for (const dir of config.executablePath) {
    const candidate = path.join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function works(binary: string, probeArgs: string[], exitCode = 0): boolean {
  return spawnSync(binary, probeArgs, { stdio: 'ignore', timeout: 30_000 }).status === exitCode;
}

/** Finds an existing binary without building: its override setting, PATH (if allowed), then the pipewright cache. */
export function findGoBinary(spec: GoBinary, config: BinaryConfig): string | undefined {
  const fromEnv = spec.override?.value;
  if (fromEnv) {
    if (!works(fromEnv, spec.probeArgs, spec.probeExitCode))
      throw new Error(
        `${spec.override!.variable}=${fromEnv} does not run (\`${fromEnv} ${spec.probeArgs.join(' ')}\` failed); point it at ${spec.title} or unset it.`,
      );
    return fromEnv;
  }
  const candidates = [spec.searchPath ? onPath(spec.name, config) : undefined, path.join(binaryCacheDir(config), spec.name)];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate) && works(candidate, spec.probeArgs, spec.probeExitCode)) return candidate;
  }
  return undefined;
}

/**
 * Returns the path of a working binary: found, else built with `go install` into the cache (minutes
 * with an empty module cache). Throws one message naming what to install.
 */
export async function ensureGoBinary(spec: GoBinary, config: BinaryConfig, log: (line: string) => void = () => undefined): Promise<string> {
  const found = findGoBinary(spec, config);
  if (found) return found;
  const cacheDir = binaryCacheDir(config);
  const problems: string[] = [];
  const go = onPath('go', config);
  if (go) {
    mkdirSync(cacheDir, { recursive: true });
    log(`Building ${spec.title} (${spec.module}) into ${cacheDir}; this takes a few minutes the first time...`);
    const started = Date.now();
    const code = await new Promise<number>((resolve) => {
      const child = spawn(go, ['install', spec.module], { env: childEnvironment({ GOBIN: cacheDir }), stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('exit', (c) => resolve(c ?? 1));
      child.on('error', () => resolve(1));
    });
    const built = path.join(cacheDir, spec.name);
    if (code === 0 && works(built, spec.probeArgs, spec.probeExitCode)) {
      log(`Built ${spec.title} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
      return built;
    }
    problems.push(`\`go install ${spec.module}\` failed (exit ${code}); it needs Go >= 1.25 and access to the Go module proxy`);
  } else {
    problems.push(`Go is not installed, so ${spec.title} cannot be built from source`);
  }
  const where = [spec.override ? `$${spec.override.variable}` : undefined, spec.searchPath ? 'PATH' : undefined, cacheDir].filter(Boolean).join(', ');
  throw new Error(
    `No ${spec.title} found. Tried ${where}.\n` +
      problems.map((p) => `  - ${p}`).join('\n') +
      `\nInstall Go >= 1.25 (then pipewright builds it)${spec.override ? `, or set ${spec.override.variable} to the path of an existing binary` : ''}.`,
  );
}
