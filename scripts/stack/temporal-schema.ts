import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { childEnvironment } from '../../lib/config';
import { sqlEndpoint, sqlToolArgs, TEMPORAL_DATABASES } from './temporal-cluster-config';

const execFileAsync = promisify(execFile);

/** What ensureClusterSchema did, per database: created it, set up versioning, and the schema version it ended at. */
export interface SchemaReport {
  database: string;
  created: boolean;
  setUp: boolean;
  version: string | undefined;
}

/**
 * Creates the cluster's two databases on the project's PostgreSQL server when missing, and brings
 * their schema to the release of the SQL tool: `setup-schema -v 0.0` once (the versioning tables),
 * then `update-schema` with the tool's embedded versioned schema (`--schema-name
 * postgresql/v12/...`), which applies only the versions a database lacks. Idempotent: on an
 * up-to-date database it changes nothing.
 */
export async function ensureClusterSchema(sqlTool: string, databaseUrl: string, log: (line: string) => void = () => undefined): Promise<SchemaReport[]> {
  const db = sqlEndpoint(databaseUrl);
  const created = await createMissingDatabases(databaseUrl, Object.values(TEMPORAL_DATABASES));
  const reports: SchemaReport[] = [];
  for (const [kind, database] of Object.entries(TEMPORAL_DATABASES) as Array<[keyof typeof TEMPORAL_DATABASES, string]>) {
    const schemaName = `postgresql/v12/${kind === 'default' ? 'temporal' : 'visibility'}`;
    const before = await schemaVersion(databaseUrl, database);
    const setUp = before === undefined;
    if (setUp) {
      log(`Setting up the Temporal schema in database ${database}...`);
      await runSqlTool(sqlTool, [...sqlToolArgs(db, database), 'setup-schema', '-v', '0.0']);
    }
    await runSqlTool(sqlTool, [...sqlToolArgs(db, database), 'update-schema', '--schema-name', schemaName]);
    const version = await schemaVersion(databaseUrl, database);
    if (version !== before) log(`Temporal schema of ${database}: ${before ?? 'none'} -> ${version}.`);
    reports.push({ database, created: created.includes(database), setUp, version });
  }
  return reports;
}

/** The URL of another database on the same server, as the same user. */
export function databaseUrlFor(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.href;
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function createMissingDatabases(databaseUrl: string, names: string[]): Promise<string[]> {
  return withClient(databaseUrl, async (client) => {
    const created: string[] = [];
    for (const name of names) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount) continue;
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } catch (err) {
        // Another `up` on the same server created it between the check and here.
        if ((err as { code?: string }).code === '42P04') continue;
        throw new Error(
          `cannot create database ${name} for the Temporal cluster (${(err as Error).message}); create ${names.join(' and ')} on that server ` +
            `for the DATABASE_URL user (CREATE DATABASE ${name};) or grant it CREATEDB, then run \`pipewright up --cluster\` again.`,
          { cause: err },
        );
      }
      created.push(name);
    }
    return created;
  });
}

/** `schema_version.curr_version` of a cluster database, or undefined before setup-schema. */
export async function schemaVersion(databaseUrl: string, database: string): Promise<string | undefined> {
  return withClient(databaseUrlFor(databaseUrl, database), async (client) => {
    const table = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_version')::text AS t`);
    if (!table.rows[0]?.t) return undefined;
    const row = await client.query<{ curr_version: string }>('SELECT curr_version FROM schema_version LIMIT 1');
    return row.rows[0]?.curr_version;
  });
}

async function runSqlTool(sqlTool: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(sqlTool, args, { env: childEnvironment(), timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    const command = args.map((a, i) => (args[i - 1] === '--pw' ? '***' : a)).join(' ');
    throw new Error(`the Temporal SQL tool failed: ${sqlTool} ${command}\n${`${stdout ?? ''}${stderr ?? ''}`.trim().slice(-3000)}`, { cause: err });
  }
}
