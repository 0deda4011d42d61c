import path from 'node:path';

/**
 * Every setting pipewright reads from the environment, in one place, with its default.
 * The README's configuration table mirrors this file.
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
  /** Base URL of the Web UI, used to print links to runs. */
  temporalUiUrl: string;
  /** postgres:// URL of an existing database; undefined means "start embedded PostgreSQL". */
  databaseUrl: string | undefined;
  /** Port of embedded PostgreSQL. */
  postgresPort: number;
  /** Port of the model server. */
  servePort: number;
  /** URL the deploy pool uses to tell a running model server to load a new version. */
  serveUrl: string;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new Error(`${name}=${raw} is not a valid port number; set it to an integer between 1 and 65535 or unset it.`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PipewrightConfig {
  const home = path.resolve(env.PIPEWRIGHT_HOME || '.pipewright');
  const temporalPort = intFromEnv(env, 'PIPEWRIGHT_TEMPORAL_PORT', 7233);
  const temporalUiPort = intFromEnv(env, 'PIPEWRIGHT_TEMPORAL_UI_PORT', 8233);
  const servePort = intFromEnv(env, 'PIPEWRIGHT_SERVE_PORT', 8501);
  return {
    home,
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    temporalPort,
    temporalUiPort,
    temporalUiUrl: env.PIPEWRIGHT_TEMPORAL_UI_URL || `http://localhost:${temporalUiPort}`,
    databaseUrl: env.DATABASE_URL || undefined,
    postgresPort: intFromEnv(env, 'PIPEWRIGHT_POSTGRES_PORT', 5433),
    servePort,
    serveUrl: env.PIPEWRIGHT_SERVE_URL || `http://127.0.0.1:${servePort}`,
  };
}
