import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { progressQuery, STAGE } from '../../contracts';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { waitFor } from '../../scripts/stack/child-process';
import type { StackInfo } from '../../scripts/stack/stack';
import { flightsSpec, openTestStack, type TestStack } from './stack';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';

/**
 * `pipewright up` supervises what it starts: a pool that dies is restarted and the runs in flight
 * complete; a stack whose PostgreSQL died still stops in seconds on Ctrl-C; Ctrl-C on `run` stops
 * the watching, not the run, and `pipewright cancel` cancels it.
 */
const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const TABLE = 'flights_50000';

let stack: TestStack;
const stackInfo = (home: string): StackInfo => JSON.parse(readFileSync(path.join(home, 'stack.json'), 'utf8')) as StackInfo;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** A spec whose training takes long enough (small batches) to be caught in the middle. */
const slowSpec = (name: string) => flightsSpec(TABLE, { name, model: { type: 'mlp', hidden: [32], epochs: 3, batchSize: 64, learningRate: 0.005, seed: 7 } });

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
});

afterAll(async () => {
  await stack?.close();
});

test('a pool killed under `up` is restarted, and a run started before the kill completes', async () => {
  const handle = await startTrainingPipeline(stack.client, slowSpec('flights_supervised'), { reuseSteps: false });
  await waitFor('the run to reach training', 120_000, async () => ((await handle.query(progressQuery)).stage === 'train' ? true : undefined), 100);

  const victim = stackInfo(stack.home).processes['pool-orchestrator']!;
  process.kill(victim, 'SIGKILL');
  const replacement = await waitFor('up to restart the orchestrator pool', 60_000, async () => {
    const pid = stackInfo(stack.home).processes['pool-orchestrator'];
    return pid && pid !== victim && alive(pid) ? pid : undefined;
  });

  const result = await watchPipeline(handle, false);
  expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.55);
  const log = readFileSync(path.join(stack.home, 'up.log'), 'utf8');
  // The delay grows with the pool's recent restarts, and other tests on this stack kill it too (the federated ones).
  expect(log).toMatch(new RegExp(`\\[stack\\] pool-orchestrator \\(pid ${victim}\\) was killed by SIGKILL; restarting it in \\d+ s`));
  expect(log).toContain(`[stack] pool-orchestrator restarted (pid ${replacement}).`);
  expect((await handle.describe()).status.name).toBe('COMPLETED');
});

test('Ctrl-C on `pipewright run` leaves the run going and says how to follow or cancel it; `pipewright cancel` cancels it', async () => {
  const specFile = path.join(stack.home, 'slow-spec.json');
  writeFileSync(specFile, JSON.stringify(slowSpec('flights_cancelled')));
  // --no-cache: the run must really train (the supervised run above trained the same model) to be caught in training.
  const run = spawn(process.execPath, [CLI, 'run', specFile, '--no-cache'], { env: { ...process.env, ...stack.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  run.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  run.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const runId = await waitFor('the run to start', 60_000, async () => /Started (\S+)/.exec(out)?.[1], 100);
  const handle = stack.client.workflow.getHandle(runId);
  await waitFor('the run to reach training', 120_000, async () => ((await handle.query(progressQuery)).stage === 'train' ? true : undefined), 100);
  const exit = exitOf(run);
  run.kill('SIGINT');
  expect(await exit).toEqual({ code: 130, signal: null });
  expect(out).toContain(`Run ${runId} goes on in Temporal`);
  expect(out).toContain(`pipewright status ${runId}`);
  expect(out).toContain(`pipewright cancel ${runId}`);
  expect((await handle.describe()).status.name).toBe('RUNNING');

  const cancel = await execFileAsync(process.execPath, [CLI, 'cancel', runId], { env: { ...process.env, ...stack.env } });
  expect(cancel.stdout).toContain(`Cancellation requested for ${runId}`);
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  const description = await handle.describe();
  expect(description.status.name).toBe('CANCELLED');
  expect(description.typedSearchAttributes.get(STAGE)).toBe('cancelled');
  const progress = await handle.query(progressQuery);
  expect(progress.stage).toBe('cancelled');
  expect(progress.stages.train.status).toBe('cancelled');
  const recorded = await stack.db.query<{ status: string }>('SELECT status FROM pipewright_runs WHERE run_id = $1', [runId]);
  expect(recorded.rows[0]?.status).toBe('cancelled');
  const again = await execFileAsync(process.execPath, [CLI, 'cancel', runId], { env: { ...process.env, ...stack.env } });
  expect(again.stdout).toContain(`${runId} is already CANCELLED; nothing to cancel.`);
});

test('`up` whose PostgreSQL has died still stops in seconds on Ctrl-C, and leaves no stack.json', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'pipewright-it-pgdies-'));
  const env = {
    ...process.env,
    PIPEWRIGHT_HOME: home,
    PIPEWRIGHT_TEMPORAL_PORT: '47233',
    PIPEWRIGHT_TEMPORAL_UI_PORT: '48233',
    PIPEWRIGHT_POSTGRES_PORT: '45433',
    PIPEWRIGHT_SERVE_PORT: '48501',
  };
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'PIPEWRIGHT_SERVE_URL']) delete (env as Record<string, string | undefined>)[name];
  const up = spawn(process.execPath, [CLI, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  up.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = exitOf(up);
  try {
    await waitFor('the second stack to come up', 180_000, async () => (existsSync(path.join(home, 'stack.json')) ? true : undefined));
    const { processes } = stackInfo(home);
    process.kill(processes.postgres!, 'SIGKILL');
    await waitFor('up to notice', 30_000, async () => (out.includes('[stack] postgres (pid') ? true : undefined), 50);
    const began = Date.now();
    up.kill('SIGINT');
    expect(await exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(out).toContain('Stopped.');
    expect(existsSync(path.join(home, 'stack.json'))).toBe(false);
    for (const [name, pid] of Object.entries(processes)) if (pid) expect([name, alive(pid)]).toEqual([name, false]);
  } finally {
    if (up.exitCode === null) up.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
