import { isIPv4 } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
  /**
   * How clients and workers authenticate to Temporal, under Temporal's own variable names (the
   * `temporal` CLI and the SDKs' environment configuration read the same ones).
   */
  temporalAuth: TemporalAuthConfig;
  /**
   * `pipewright up` runs the full Temporal server (frontend, history, matching, worker services)
   * on the project's PostgreSQL instead of the CLI dev server (PIPEWRIGHT_TEMPORAL_CLUSTER=on or `up --cluster`).
   */
  temporalCluster: boolean;
  /** A Temporal server binary (`go.temporal.io/server/cmd/server`) to use instead of the cache or a build (TEMPORAL_SERVER). */
  temporalServer: string | undefined;
  /** Its schema tool (`go.temporal.io/server/cmd/tools/sql`; TEMPORAL_SQL_TOOL). */
  temporalSqlTool: string | undefined;
  /**
   * IP the embedded services listen on (PIPEWRIGHT_BIND_HOST): Temporal, PostgreSQL and the S3
   * server. Loopback (default); this machine's IP, which the stack also hands its clients, for pools
   * on other machines; or 0.0.0.0, every interface, with loopback handed out on this machine.
   */
  bindHost: string;
  /** Payload encryption: raw `id:base64key` list (PIPEWRIGHT_PAYLOAD_KEYS) or a file holding one (PIPEWRIGHT_PAYLOAD_KEY_FILE). */
  payloadKeys: PayloadKeySetting | undefined;
  /** The codec server that lets the Web UI and the `temporal` CLI decode encrypted payloads. */
  codec: {
    /** Port of the codec server `pipewright up` starts when payloads are encrypted (PIPEWRIGHT_CODEC_PORT; default the UI port + 1). */
    port: number;
    /** Bearer token a caller must present (PIPEWRIGHT_CODEC_TOKEN); unset: loopback callers only. */
    token: string | undefined;
    /** Origins allowed by CORS (PIPEWRIGHT_CODEC_CORS_ORIGINS, comma-separated; default the Web UI's). */
    corsOrigins: string[];
  };
  /** Where artifacts live: `file:///path` (default `<home>/artifacts`) or `s3://bucket[/prefix]` (PIPEWRIGHT_ARTIFACT_STORE). */
  artifactStore: string;
  /** Local copies of remote (s3://) artifacts, checked against their content hash (PIPEWRIGHT_ARTIFACT_CACHE; default `<home>/artifact-cache`). */
  artifactCacheDir: string;
  /** The S3-compatible object store behind an `s3://` artifact store. */
  s3: {
    /** Endpoint URL of an S3-compatible server (PIPEWRIGHT_S3_ENDPOINT); unset: AWS, or the embedded server `pipewright up` starts. */
    endpoint: string | undefined;
    region: string;
    /** Path-style addressing (PIPEWRIGHT_S3_FORCE_PATH_STYLE; default on when an endpoint is set). */
    forcePathStyle: boolean;
    /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; unset: the SDK's default credential chain. */
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    /** Port of the embedded S3-compatible server (gofakes3) `pipewright up` starts for an s3:// store without an endpoint (PIPEWRIGHT_S3_PORT). */
    embeddedPort: number;
  };
  /** What a federated site needs beyond its own data and store. */
  federation: {
    /**
     * The coordinator's artifact store, where a site reads the global transform and model and writes
     * its statistics, updates and metric states, and nothing else (PIPEWRIGHT_FEDERATION_STORE: file:// or s3://).
     */
    store: string | undefined;
    /** Secret the site's secure-aggregation keys derive from (PIPEWRIGHT_SITE_SECRET); unset: one generated once under the site's home. */
    siteSecret: string | undefined;
  };
}

export interface TemporalAuthConfig {
  /** TEMPORAL_TLS=true: TLS with the system's CAs even without certificate files (Temporal Cloud with an API key). */
  tls: boolean;
  /** mTLS client certificate and key (PEM files): TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH. */
  clientCertPath: string | undefined;
  clientKeyPath: string | undefined;
  /** CA that signed the server's certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH); unset: the system's CAs. */
  serverCaCertPath: string | undefined;
  /** Name the server's certificate must carry, when it differs from the address's host (TEMPORAL_TLS_SERVER_NAME). */
  serverName: string | undefined;
  /** Temporal Cloud API key (TEMPORAL_API_KEY); implies TLS. */
  apiKey: string | undefined;
}

/** Where the payload keys come from; lib/codec parses and checks them. */
export interface PayloadKeySetting {
  /** The variable that named them, for error messages. */
  source: 'PIPEWRIGHT_PAYLOAD_KEYS' | 'PIPEWRIGHT_PAYLOAD_KEY_FILE';
  /** The list itself, or the file's path. */
  value: string;
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

function bindHostFromEnv(env: Env): string {
  const raw = setting(env, 'PIPEWRIGHT_BIND_HOST') ?? '127.0.0.1';
  if (isIPv4(raw)) return raw;
  throw new Error(`PIPEWRIGHT_BIND_HOST=${raw} is not an IPv4 address; use 127.0.0.1 (default), 0.0.0.0 (every interface), or one of this machine's IPs.`);
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
  const home = path.resolve(setting(env, 'PIPEWRIGHT_HOME') ?? '.pipewright');
  const s3Endpoint = setting(env, 'PIPEWRIGHT_S3_ENDPOINT');
  return {
    home,
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
    temporalAuth: temporalAuthFromEnv(env),
    temporalCluster: switchFromEnv(env, 'PIPEWRIGHT_TEMPORAL_CLUSTER', false),
    temporalServer: setting(env, 'TEMPORAL_SERVER'),
    temporalSqlTool: setting(env, 'TEMPORAL_SQL_TOOL'),
    bindHost: bindHostFromEnv(env),
    payloadKeys: payloadKeysFromEnv(env),
    codec: {
      port: portFromEnv(env, 'PIPEWRIGHT_CODEC_PORT', temporalUiPort + 1),
      token: setting(env, 'PIPEWRIGHT_CODEC_TOKEN'),
      corsOrigins: (setting(env, 'PIPEWRIGHT_CODEC_CORS_ORIGINS') ?? `http://localhost:${temporalUiPort},http://127.0.0.1:${temporalUiPort}`)
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    },
    artifactStore: artifactStoreFromEnv(env, home),
    artifactCacheDir: path.resolve(setting(env, 'PIPEWRIGHT_ARTIFACT_CACHE') ?? path.join(home, 'artifact-cache')),
    s3: {
      endpoint: s3Endpoint,
      region: setting(env, 'PIPEWRIGHT_S3_REGION') ?? setting(env, 'AWS_REGION') ?? 'us-east-1',
      forcePathStyle: switchFromEnv(env, 'PIPEWRIGHT_S3_FORCE_PATH_STYLE', s3Endpoint !== undefined),
      accessKeyId: setting(env, 'AWS_ACCESS_KEY_ID'),
      secretAccessKey: setting(env, 'AWS_SECRET_ACCESS_KEY'),
      embeddedPort: portFromEnv(env, 'PIPEWRIGHT_S3_PORT', 9400),
    },
    federation: {
      store: setting(env, 'PIPEWRIGHT_FEDERATION_STORE') === undefined ? undefined : storeUrlFromEnv(env, 'PIPEWRIGHT_FEDERATION_STORE', home),
      siteSecret: setting(env, 'PIPEWRIGHT_SITE_SECRET'),
    },
  };
}

function temporalAuthFromEnv(env: Env): TemporalAuthConfig {
  const auth: TemporalAuthConfig = {
    tls: switchFromEnv(env, 'TEMPORAL_TLS', false),
    clientCertPath: setting(env, 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
    clientKeyPath: setting(env, 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
    serverCaCertPath: setting(env, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
    serverName: setting(env, 'TEMPORAL_TLS_SERVER_NAME'),
    apiKey: setting(env, 'TEMPORAL_API_KEY'),
  };
  if ((auth.clientCertPath === undefined) !== (auth.clientKeyPath === undefined)) {
    const [given, missing] = auth.clientCertPath
      ? ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH']
      : ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH'];
    throw new Error(`${given} is set but ${missing} is not; mTLS needs both the client certificate and its private key (PEM files).`);
  }
  return auth;
}

function payloadKeysFromEnv(env: Env): PayloadKeySetting | undefined {
  const list = setting(env, 'PIPEWRIGHT_PAYLOAD_KEYS');
  const file = setting(env, 'PIPEWRIGHT_PAYLOAD_KEY_FILE');
  if (list !== undefined && file !== undefined) throw new Error('PIPEWRIGHT_PAYLOAD_KEYS and PIPEWRIGHT_PAYLOAD_KEY_FILE are both set; keep one.');
  if (list !== undefined) return { source: 'PIPEWRIGHT_PAYLOAD_KEYS', value: list };
  if (file !== undefined) return { source: 'PIPEWRIGHT_PAYLOAD_KEY_FILE', value: path.resolve(file) };
  return undefined;
}

function artifactStoreFromEnv(env: Env, home: string): string {
  return storeUrlFromEnv(env, 'PIPEWRIGHT_ARTIFACT_STORE', home);
}

function storeUrlFromEnv(env: Env, variable: 'PIPEWRIGHT_ARTIFACT_STORE' | 'PIPEWRIGHT_FEDERATION_STORE', home: string): string {
  const raw = setting(env, variable);
  if (raw === undefined) return pathToFileURL(path.join(home, 'artifacts')).href;
  if (/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(raw)) return raw.replace(/\/+$/, '');
  if (raw.startsWith('file://')) return raw.replace(/\/+$/, '');
  if (path.isAbsolute(raw)) return pathToFileURL(raw).href;
  throw new Error(
    `${variable}=${raw} is neither file:///absolute/path, an absolute path, nor s3://bucket[/prefix] (bucket names: 3-63 lowercase letters, digits, dots and hyphens).`,
  );
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
