import os from 'node:os';
import path from 'node:path';
import { DEFAULT_QUEUE_PREFIX } from '../contracts/task-queues';

/** TensorFlow.js backends a user can ask for (PIPEWRIGHT_TF_BACKEND); `auto` picks the best that loads. */
export const TF_BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];

/**
 * Every setting pipewright reads from the environment, in one place, with its default. Nothing
 * else reads `process.env` (a lint rule keeps it so); the README's configuration table mirrors
 * this file.
 */
export interface PipewrightConfig {
  /** Root of everything pipewright keeps on disk: artifacts, the dev server's database, embedded PostgreSQL. */
  home: string;
  /** host:port of an existing Temporal frontend; undefined means "start the embedded dev server". */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  /** gRPC port of the embedded dev server. */
  temporalPort: number;
  /** Web UI port of the embedded dev server. */
  temporalUiPort: number;
  /**
   * Base URL of the Web UI, used to print links to runs: PIPEWRIGHT_TEMPORAL_UI_URL, else the
   * embedded dev server's UI; undefined for a TEMPORAL_ADDRESS cluster whose UI was not named.
   */
  temporalUiUrl: string | undefined;
  /** postgres:// URL of an existing database; undefined means "start embedded PostgreSQL". */
  databaseUrl: string | undefined;
  /** Port of embedded PostgreSQL. */
  postgresPort: number;
  /** Address the model server listens on. */
  serveHost: string;
  servePort: number;
  /** URL the deploy pool uses to tell a running model server to load a new version. */
  serveUrl: string;
  /** Prefix of every task queue, so several deployments can share a namespace. */
  queuePrefix: string;
  /** Concurrent activities per pool process. */
  slots: { cpu: number; gpu: number; eval: number };
  /** gpu pool processes `pipewright up` starts: each trains one data-parallel worker's share at a time. */
  gpuProcesses: number;
  tfBackend: TfBackendChoice;
  /** A Temporal CLI binary to use instead of searching PATH and the cache, or building one. */
  temporalCli: string | undefined;
  /** Where pipewright caches what it builds (the Temporal CLI goes to `<cacheDir>/bin`). */
  cacheDir: string;
  /** Folders searched for executables (PATH). */
  executablePath: string[];
  /** Who registry changes made from the CLI are recorded as (PIPEWRIGHT_USER), when a login name would not say. */
  user: string | undefined;
  /** The model server's request handling. */
  serving: {
    /** Rows per forward pass at most when concurrent requests are batched (PIPEWRIGHT_SERVE_BATCH_ROWS; 1 turns batching off). */
    maxBatchRows: number;
    /** Milliseconds a batch that is not full waits for more requests (PIPEWRIGHT_SERVE_BATCH_WAIT_MS; 0: no timer). */
    maxBatchWaitMs: number;
    /** Log every prediction to PostgreSQL for monitoring (PIPEWRIGHT_PREDICTION_LOG=off turns it off). */
    predictionLog: boolean;
  };
  /** pino level for the model server and the pools' JSON logs (PIPEWRIGHT_LOG_LEVEL; default info). */
  logLevel: string;
  /** Port of this pool process's Prometheus endpoint for the Temporal SDK's worker metrics (PIPEWRIGHT_WORKER_METRICS_PORT; none when unset). */
  workerMetricsPort: number | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value, with an empty string meaning unset. */
function setting(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function portFromEnv(env: Env, name: string, fallback: number): number {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new Error(`${name}=${raw} is not a valid port number; set it to an integer between 1 and 65535 or unset it.`);
  }
  return value;
}

function nonNegativeFromEnv(env: Env, name: string, fallback: number): number {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a number of 0 or more; set it to one, or unset it.`);
  return value;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function logLevelFromEnv(env: Env): string {
  const raw = setting(env, 'PIPEWRIGHT_LOG_LEVEL') ?? 'info';
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw;
  throw new Error(`PIPEWRIGHT_LOG_LEVEL=${raw} is not one of ${LOG_LEVELS.join(', ')}.`);
}

function switchFromEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = setting(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw new Error(`${name}=${raw} is neither on nor off.`);
}

function countFromEnv(env: Env, name: string, fallback: number): number {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}=${raw} is not a positive integer; set it to 1 or more, or unset it.`);
  return value;
}

function tfBackendFromEnv(env: Env): TfBackendChoice {
  const raw = setting(env, 'PIPEWRIGHT_TF_BACKEND') ?? 'auto';
  if ((TF_BACKENDS as readonly string[]).includes(raw)) return raw as TfBackendChoice;
  throw new Error(`PIPEWRIGHT_TF_BACKEND=${raw} is not one of ${TF_BACKENDS.join(', ')}.`);
}

export function loadConfig(env: Env = process.env): PipewrightConfig {
  const temporalAddress = setting(env, 'TEMPORAL_ADDRESS');
  const temporalUiPort = portFromEnv(env, 'PIPEWRIGHT_TEMPORAL_UI_PORT', 8233);
  const servePort = portFromEnv(env, 'PIPEWRIGHT_SERVE_PORT', 8501);
  const cores = os.cpus().length;
  return {
    home: path.resolve(setting(env, 'PIPEWRIGHT_HOME') ?? '.pipewright'),
    temporalAddress,
    temporalNamespace: setting(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    temporalPort: portFromEnv(env, 'PIPEWRIGHT_TEMPORAL_PORT', 7233),
    temporalUiPort,
    temporalUiUrl: setting(env, 'PIPEWRIGHT_TEMPORAL_UI_URL') ?? (temporalAddress ? undefined : `http://localhost:${temporalUiPort}`),
    databaseUrl: setting(env, 'DATABASE_URL'),
    postgresPort: portFromEnv(env, 'PIPEWRIGHT_POSTGRES_PORT', 5433),
    serveHost: setting(env, 'PIPEWRIGHT_SERVE_HOST') ?? '127.0.0.1',
    servePort,
    serveUrl: setting(env, 'PIPEWRIGHT_SERVE_URL') ?? `http://127.0.0.1:${servePort}`,
    queuePrefix: setting(env, 'PIPEWRIGHT_QUEUE_PREFIX') ?? DEFAULT_QUEUE_PREFIX,
    slots: {
      cpu: countFromEnv(env, 'PIPEWRIGHT_CPU_SLOTS', cores),
      gpu: countFromEnv(env, 'PIPEWRIGHT_GPU_SLOTS', 1),
      eval: countFromEnv(env, 'PIPEWRIGHT_EVAL_SLOTS', cores),
    },
    // Without an accelerator each gpu process trains on one core (wasm), so one per core; with
    // one, a process per device is the user's call (PIPEWRIGHT_GPU_WORKERS).
    gpuProcesses: countFromEnv(env, 'PIPEWRIGHT_GPU_WORKERS', cores),
    tfBackend: tfBackendFromEnv(env),
    temporalCli: setting(env, 'TEMPORAL_CLI'),
    cacheDir: path.resolve(setting(env, 'PIPEWRIGHT_CACHE_DIR') ?? path.join(os.homedir(), '.cache', 'pipewright')),
    executablePath: (setting(env, 'PATH') ?? '').split(path.delimiter).filter(Boolean),
    user: setting(env, 'PIPEWRIGHT_USER')?.trim() || undefined,
    serving: {
      maxBatchRows: countFromEnv(env, 'PIPEWRIGHT_SERVE_BATCH_ROWS', 256),
      maxBatchWaitMs: nonNegativeFromEnv(env, 'PIPEWRIGHT_SERVE_BATCH_WAIT_MS', 0),
      predictionLog: switchFromEnv(env, 'PIPEWRIGHT_PREDICTION_LOG', true),
    },
    logLevel: logLevelFromEnv(env),
    workerMetricsPort: setting(env, 'PIPEWRIGHT_WORKER_METRICS_PORT') === undefined ? undefined : portFromEnv(env, 'PIPEWRIGHT_WORKER_METRICS_PORT', 0),
  };
}

/**
 * The environment a process that pipewright starts (a pool, the dev server, `go install`) runs
 * with: this process's own, with `overrides` on top (an undefined value removes the variable).
 */
export function childEnvironment(overrides: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
