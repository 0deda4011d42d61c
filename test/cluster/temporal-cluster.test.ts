import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { PIPELINE, progressQuery, STAGE } from '../../contracts';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { productionVersion } from '../../lib/registry/model-registry';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { waitFor } from '../../scripts/stack/child-process';
import type { StackInfo } from '../../scripts/stack/stack';
import { clusterPorts } from '../../scripts/stack/temporal-cluster-config';
import { databaseUrlFor, schemaVersion } from '../../scripts/stack/temporal-schema';
import { flightsSpec } from '../integration/stack';

/**
 * `pipewright up --cluster`: the full Temporal server (not the dev server) on the stack's embedded
 * PostgreSQL, with a real pipeline run end to end on it, its history read back from PostgreSQL,
 * the Web UI server in front of it, a kill -9 of the server in the middle of a run survived, and a second `up` on the same
 * home that finds the schema up to date and the earlier run still there.
 *
 * Not part of `npm test` (its stack is a second one, and a fresh machine first builds the server):
 * `npm run test:cluster`, which .ci/run runs after `npm test`.
 */
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const OFFSET = Number(process.env.PIPEWRIGHT_IT_PORT_OFFSET ?? 0);
const ENV = {
  PIPEWRIGHT_TEMPORAL_PORT: String(27233 + OFFSET),
  PIPEWRIGHT_TEMPORAL_UI_PORT: String(28233 + OFFSET),
  PIPEWRIGHT_POSTGRES_PORT: String(25433 + OFFSET),
  PIPEWRIGHT_SERVE_PORT: String(28501 + OFFSET),
};
const TABLE = 'flights_20000';

let home: string;
let up: ChildProcess | undefined;
let info: StackInfo;
let client: Client;
let db: Pool;
let workflowId: string;

const stackFile = (): string => path.join(home, 'stack.json');
const upLog = (): string => readFileSync(path.join(home, 'up.log'), 'utf8');

/** `pipewright up --cluster` in the background; resolves with stack.json once it is up. */
async function startUp(): Promise<StackInfo> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ENV, PIPEWRIGHT_HOME: home };
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'PIPEWRIGHT_SERVE_URL', 'PIPEWRIGHT_TEMPORAL_CLUSTER']) delete env[name];
  const out = openSync(path.join(home, 'up.log'), 'a');
  const child = spawn(process.execPath, [CLI, 'up', '--cluster'], { env, stdio: ['ignore', out, out] });
  up = child;
  // Generous: on a fresh machine `up --cluster` first builds the server, its SQL tool and the UI server.
  const deadline = Date.now() + 20 * 60_000;
  while (!existsSync(stackFile())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pipewright up --cluster did not come up (exit ${child.exitCode}):\n${upLog().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return JSON.parse(readFileSync(stackFile(), 'utf8')) as StackInfo;
}

/** Ctrl-C, as a user would; the stack must stop in order (exit 130 after "Stopped."). */
async function stopUp(): Promise<void> {
  const child = up;
  up = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
  expect(child.exitCode).toBe(130);
  expect(upLog()).toContain('Stopped.');
}

async function connect(stack: StackInfo): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address: stack.temporalAddress }), namespace: stack.namespace });
}

async function query<T extends object>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await pgPool(databaseUrlFor(info.databaseUrl, database)).query<T>(sql, params)).rows;
}

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'pipewright-cluster-'));
  info = await startUp();
  client = await connect(info);
  db = pgPool(info.databaseUrl);
  await ensureFlightsTable(db, TABLE, 20_000);
  const spec = flightsSpec(TABLE, { name: 'flights_cluster', model: { type: 'mlp', hidden: [16], epochs: 1, batchSize: 1024, learningRate: 0.005, seed: 7 } });
  const handle = await startTrainingPipeline(client, spec, { reuseSteps: false });
  workflowId = handle.workflowId;
  await watchPipeline(handle, false);
});

afterAll(async () => {
  await client?.connection.close();
  await closePgPools();
  await stopUp().catch(() => undefined);
  if (!process.env.PIPEWRIGHT_IT_KEEP) rmSync(home, { recursive: true, force: true });
});

test('runs the full Temporal server, not the dev server, with its services on ports derived from PIPEWRIGHT_TEMPORAL_PORT', async () => {
  const ports = clusterPorts(Number(ENV.PIPEWRIGHT_TEMPORAL_PORT));
  expect(info.temporalAddress).toBe(`127.0.0.1:${ports.frontend}`);
  const pid = info.processes.temporal!;
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  expect(cmdline).toEqual(expect.arrayContaining(['--env', 'pipewright', 'start']));
  expect(cmdline.join(' ')).toContain(path.join(home, 'temporal-cluster'));
  const system = await client.connection.workflowService.getSystemInfo({});
  expect(system.serverVersion).toBe('1.29.1');
  // Four services joined the ring through the cluster_membership table, each on its own membership port.
  const members = await query<{ rpc_port: number }>('temporal', 'SELECT DISTINCT rpc_port FROM cluster_membership WHERE record_expiry > now()');
  expect(members.map((m) => m.rpc_port).sort()).toEqual(
    [ports.frontendMembership, ports.historyMembership, ports.matchingMembership, ports.workerMembership].sort(),
  );
  expect(await schemaVersion(info.databaseUrl, 'temporal')).toBe('1.18');
  expect(await schemaVersion(info.databaseUrl, 'temporal_visibility')).toBe('1.9');
});

test('a pipeline runs end to end on it and deploys its model', async () => {
  const description = await client.workflow.getHandle(workflowId).describe();
  expect(description.status.name).toBe('COMPLETED');
  expect(description.typedSearchAttributes.get(PIPELINE)).toBe('flights_cluster');
  expect(description.typedSearchAttributes.get(STAGE)).toBe('finished');
  const production = await productionVersion(db, 'flights_cluster');
  expect(production?.runId).toBe(workflowId);
  const served = await fetch(`${info.serveUrl}/v1/models/flights_cluster`);
  expect(served.ok).toBe(true);
});

test("the run's history and visibility record are in PostgreSQL", async () => {
  const executions = await query<{ run_id: Buffer }>('temporal', 'SELECT run_id FROM executions WHERE workflow_id = $1', [workflowId]);
  expect(executions).toHaveLength(1);
  const nodes = await query<{ n: string }>('temporal', 'SELECT count(*) AS n FROM history_node WHERE tree_id = $1', [executions[0]!.run_id]);
  expect(Number(nodes[0]!.n)).toBeGreaterThan(0);
  // Custom search attributes live in the visibility table's fixed KeywordNN columns.
  const visible = await query<Record<string, unknown>>('temporal_visibility', 'SELECT * FROM executions_visibility WHERE workflow_id = $1', [workflowId]);
  expect(visible).toHaveLength(1);
  expect(visible[0]!.status).toBe(2); // WORKFLOW_EXECUTION_STATUS_COMPLETED
  expect(Object.entries(visible[0]!).filter(([column, value]) => /^keyword\d+$/.test(column) && value === 'flights_cluster').length).toBe(2); // pipeline and model
});

test('the Web UI server answers in front of the cluster and lists the run', async () => {
  expect(info.uiUrl).toBe(`http://localhost:${ENV.PIPEWRIGHT_TEMPORAL_UI_PORT}`);
  const res = await fetch(`${info.uiUrl}/api/v1/namespaces/${info.namespace}/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`);
  expect(res.ok).toBe(true);
  const body = (await res.json()) as { executions?: Array<{ execution: { workflowId: string } }> };
  expect(body.executions?.map((e) => e.execution.workflowId)).toEqual([workflowId]);
});

test('a server killed with SIGKILL mid-run is restarted, and the run completes', async () => {
  // Small batches, so that training is still going when the server dies.
  const spec = flightsSpec(TABLE, {
    name: 'flights_cluster_kill',
    model: { type: 'mlp', hidden: [16], epochs: 2, batchSize: 64, learningRate: 0.005, seed: 7 },
  });
  const handle = await startTrainingPipeline(client, spec, { reuseSteps: false });
  await waitFor('the run to reach training', 120_000, async () => ((await handle.query(progressQuery)).stage === 'train' ? true : undefined), 100);
  const victim = info.processes.temporal!;
  process.kill(victim, 'SIGKILL');
  await waitFor('up to restart the Temporal server', 120_000, async () => {
    const pid = (JSON.parse(readFileSync(stackFile(), 'utf8')) as StackInfo).processes.temporal;
    return pid && pid !== victim ? pid : undefined;
  });
  expect(upLog()).toContain(`[stack] temporal (pid ${victim}) was killed by SIGKILL; restarting it in 1 s`);
  const result = await watchPipeline(handle, false);
  expect(result.model.name).toBe('flights_cluster_kill');
  expect((await handle.describe()).status.name).toBe('COMPLETED');
  expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
});

test('a second `up --cluster` on the same home finds the schema up to date and the run still there', async () => {
  await client.connection.close();
  await stopUp();
  const firstLog = upLog();
  expect(firstLog).toContain('Setting up the Temporal schema in database temporal...');
  info = await startUp();
  client = await connect(info);
  const secondLog = upLog().slice(firstLog.length);
  expect(secondLog).not.toContain('Temporal schema');
  expect(secondLog).not.toContain('Building');
  const description = await client.workflow.getHandle(workflowId).describe();
  expect(description.status.name).toBe('COMPLETED');
});
