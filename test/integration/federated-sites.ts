import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import type { Pool } from 'pg';
import { artifactStoreSettings } from '../../lib/artifacts/artifact-store';
import { loadConfig } from '../../lib/config';
import { pgPool } from '../../lib/db/pg-pools';
import { parseFederatedSpec, type FederatedSpec } from '../../lib/spec/federated-spec';
import { siteTaskQueue } from '../../contracts';
import { startProcess, waitFor, GiveUp, type ManagedProcess } from '../../scripts/stack/child-process';
import { databaseUrl, ensureDatabase } from '../../scripts/federated/site-tables';
import type { TestStack } from './stack';

/**
 * Helpers for the federated integration tests: per-site databases with small synthetic tables, and
 * `pipewright site --name <site>` worker processes, each with its own database and PIPEWRIGHT_HOME,
 * pointed at the test stack's Temporal and its artifact store as the federation's exchange store.
 */

const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');

/** The stack's own artifact store (where its pools write, and where sites put what may leave them). */
export function exchangeStoreUrl(stack: TestStack): string {
  return artifactStoreSettings(loadConfig({ ...process.env, ...stack.env })).url;
}

/** A file:// URL's folder. */
export function storeFolder(url: string): string {
  if (!url.startsWith('file://')) throw new Error(`the federated tests need a file:// artifact store, not ${url}`);
  return new URL(url).pathname;
}

export interface Site {
  name: string;
  home: string;
  database: string;
  url: string;
  db: Pool;
  proc?: ManagedProcess;
}

/** A database of its own on the stack's PostgreSQL for `site`. */
export async function createSiteDatabase(stack: TestStack, site: string, run: string, homeRoot: string): Promise<Site> {
  const database = `site_${site.replace(/[^a-z0-9]/g, '_')}_${run}`.slice(0, 63);
  await ensureDatabase(stack.db, database);
  const url = databaseUrl(stack.info.databaseUrl, database);
  return { name: site, home: path.join(homeRoot, site), database, url, db: pgPool(url) };
}

export interface SyntheticTable {
  /** Rows, with keys firstId .. firstId + rows - 1. */
  rows: number;
  firstId?: number;
  /** Prefix of the categorical values (`<prefix>-0` .. `<prefix>-4`). */
  categoryPrefix?: string;
  /** Marks every row's `secret` and `note`: row-secret-<site>-<id>-<hex>, row-note-<site>-<id>-<hex>. */
  site: string;
  /** Random per table: the hex in each marker is md5(id || token). */
  token: string;
  /** Leave this column out of the table (a site whose data lacks a feature). */
  without?: 'cat' | 'x';
}

/**
 * A table of `rows` rows generated in SQL: a bigint key `id`, a numeric feature `x` (0 .. 99.9), a
 * categorical `cat` (five values), a label `y` that depends on both plus a deterministic noise (so
 * a model learns something, but not everything), and two text columns with a unique marker per row:
 * `secret` (never a feature) and `note` (which a spec may read as a hashed feature). Deterministic
 * in (rows, firstId, categoryPrefix): two sites given the same get the same key, feature and label
 * values (the markers name the site).
 */
export async function createSyntheticTable(db: Pool, table: string, t: SyntheticTable): Promise<void> {
  const first = t.firstId ?? 1;
  const prefix = t.categoryPrefix ?? 'k';
  const columns = [
    'id bigint PRIMARY KEY',
    ...(t.without === 'x' ? [] : ['x double precision NOT NULL']),
    ...(t.without === 'cat' ? [] : ['cat text NOT NULL']),
    'y double precision NOT NULL',
    'secret text NOT NULL',
    'note text NOT NULL',
  ];
  const x = `(((g * 7919) % 1000)::float8 / 10)`;
  const catIndex = `(g % 5)`;
  const values = [
    'g',
    ...(t.without === 'x' ? [] : [x]),
    ...(t.without === 'cat' ? [] : [`'${prefix}-' || ${catIndex}`]),
    `${x} + ${catIndex} * 8 - 16 + (((g * 104729) % 61) - 30)`,
    `'row-secret-${t.site}-' || g || '-' || md5(g::text || '${t.token}')`,
    `'row-note-${t.site}-' || g || '-' || substr(md5('${t.token}' || g::text), 1, 12)`,
  ];
  const names = ['id', ...(t.without === 'x' ? [] : ['x']), ...(t.without === 'cat' ? [] : ['cat']), 'y', 'secret', 'note'];
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`CREATE TABLE ${table} (${columns.join(', ')})`);
  await db.query(`INSERT INTO ${table} (${names.join(', ')}) SELECT ${values.join(', ')} FROM generate_series($1::bigint, $2::bigint) AS g`, [
    first,
    first + t.rows - 1,
  ]);
  await db.query(`ANALYZE ${table}`);
}

/**
 * Starts `pipewright site --name <site>` against the site's database and home, and waits until it
 * polls its queue. Its output goes to <logDir>/site-<name>.log.
 */
export async function startSite(stack: TestStack, site: Site, logDir: string, label = `site-${site.name}`): Promise<ManagedProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.info.temporalAddress,
    TEMPORAL_NAMESPACE: stack.info.namespace,
    DATABASE_URL: site.url,
    PIPEWRIGHT_HOME: site.home,
    PIPEWRIGHT_FEDERATION_STORE: exchangeStoreUrl(stack),
    PIPEWRIGHT_QUEUE_PREFIX: stack.info.queuePrefix,
    PIPEWRIGHT_CPU_SLOTS: '2',
  };
  // The site's own store is under its own home.
  delete env.PIPEWRIGHT_ARTIFACT_STORE;
  delete env.PIPEWRIGHT_SITE_SECRET;
  const proc = startProcess(label, process.execPath, [CLI, 'site', '--name', site.name], env, logDir);
  site.proc = proc;
  await waitForPoller(stack, siteTaskQueue(site.name, stack.info.queuePrefix), siteIdentity(site.name, proc.child.pid!), 'activity', proc);
  return proc;
}

export function siteIdentity(site: string, pid: number): string {
  return `site-${site}@${os.hostname()}:${pid}`;
}

/** Waits until a worker with `identity` polls `queue` (or gives up when its process has exited). */
export async function waitForPoller(
  stack: TestStack,
  queue: string,
  identity: string,
  kind: 'activity' | 'workflow',
  proc?: Pick<ManagedProcess, 'child' | 'logFile'>,
): Promise<void> {
  const taskQueueType =
    kind === 'workflow' ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
  await waitFor(
    `${identity} to poll ${queue}`,
    120_000,
    async () => {
      if (proc && proc.child.exitCode !== null)
        throw new GiveUp(`${identity} exited with code ${proc.child.exitCode}: ${readFileSync(proc.logFile, 'utf8').slice(-2000)}`);
      const res = await stack.client.workflowService.describeTaskQueue({ namespace: stack.info.namespace, taskQueue: { name: queue }, taskQueueType });
      return (res.pollers ?? []).some((p) => p.identity === identity) ? true : undefined;
    },
    250,
  );
}

/** A federated spec over the synthetic table: numeric x (min-max scaled), categorical cat, label y > 50. */
export function syntheticSpec(
  name: string,
  table: string,
  options: { federated?: Record<string, unknown>; model?: Record<string, unknown>; features?: unknown[]; partitions?: number },
): Record<string, unknown> {
  return {
    name,
    source: { kind: 'postgres', table, key: 'id', partitions: options.partitions ?? 2 },
    label: { column: 'y', greaterThan: 50 },
    features: options.features ?? [
      { kind: 'numeric', name: 'x', column: 'x', scale: 'minMax' },
      { kind: 'categorical', name: 'cat', column: 'cat', topK: 20 },
    ],
    split: { testFraction: 0.2, seed: 42 },
    model: { type: 'logistic', epochs: 1, batchSize: 128, learningRate: 0.05, seed: 7, ...options.model },
    ...(options.federated ? { federated: options.federated } : {}),
  };
}

export function federatedSpec(
  name: string,
  table: string,
  federated: Record<string, unknown>,
  model: Record<string, unknown> = {},
  features?: unknown[],
): FederatedSpec {
  return parseFederatedSpec(syntheticSpec(name, table, { federated, model, ...(features ? { features } : {}) }));
}

/** Every regular file under `dir` (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return filesUnder(full);
    return e.isFile() ? [full] : [];
  });
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A workflow history as searchable text: every string, number and field name, and every byte field
 * (payloads) read as UTF-8, as a reader of the history (Web UI, `temporal workflow show`) sees it.
 */
export function historyText(history: unknown): string {
  const parts: string[] = [];
  const visit = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') parts.push(String(v));
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object') {
      // protobuf.js Long
      if ('low' in v && 'high' in v && typeof (v as { toString: unknown }).toString === 'function' && 'unsigned' in v) {
        parts.push(String(v));
        return;
      }
      for (const [k, x] of Object.entries(v)) {
        parts.push(k);
        visit(x);
      }
    }
  };
  visit(history);
  return parts.join('\n');
}

/** Every payload's encoding in a history (json/plain when it is stored readable). */
export function payloadEncodings(history: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
    if (Array.isArray(v)) return v.forEach(visit);
    const metadata = (v as { metadata?: Record<string, Uint8Array> }).metadata;
    if ('data' in v && metadata && metadata.encoding instanceof Uint8Array) out.add(Buffer.from(metadata.encoding).toString('utf8'));
    for (const x of Object.values(v)) visit(x);
  };
  visit(history);
  return out;
}
