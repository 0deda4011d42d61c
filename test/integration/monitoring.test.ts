import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TrainingPipelineResult } from '../../contracts';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { listAlerts } from '../../lib/monitoring/alerts';
import { listModelVersions, productionVersion } from '../../lib/registry/model-registry';
import { PredictionLog } from '../../lib/serving/prediction-log';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { flightsSpec, openTestStack, type TestStack } from './stack';

/**
 * Monitoring on the real stack: a small flights model trained and deployed; logged predictions
 * written straight into pipewright_predictions; `pipewright monitor run` on a window like the
 * training data (no drift), then on one with distance ×5 and another origin mix (drift: an alert
 * row, and `<model>-retrain` started, which registers a new version); `pipewright alerts` lists it;
 * `pipewright monitor create` makes the Schedule and `monitor delete` removes it.
 */

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const TABLE = 'flights_50000';
const MODEL = 'it_monitor';
const ROWS = 800;

let stack: TestStack;
let spec: ReturnType<typeof flightsSpec>;
let specFile: string;

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
  const base = flightsSpec(TABLE);
  spec = flightsSpec(TABLE, { name: MODEL, model: { ...base.model, epochs: 1, parallelism: { workers: 1 } } });
  specFile = path.join(stack.home, `${MODEL}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
});

afterAll(async () => {
  await stack?.close();
});

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.env }, maxBuffer: 1 << 24 });
  return stdout;
}

/** Rows of the table as a client sends them: the timestamp as ISO text, numbers as numbers. */
async function sampleRows(): Promise<Array<Record<string, unknown>>> {
  const { rows } = await stack.db.query<{ date: string; distance: number; origin: string; destination: string }>(
    `SELECT to_char(date, 'YYYY-MM-DD"T"HH24:MI:SS') AS date, distance, origin, destination FROM ${TABLE} WHERE id % 60 = 7 ORDER BY id LIMIT ${ROWS}`,
  );
  return rows;
}

/** Logs `instances` as answered by `version` at `at`, in requests of 50 rows. */
async function logWindow(version: number, instances: Array<Record<string, unknown>>, at: Date, tag: string): Promise<void> {
  const log = new PredictionLog(stack.db);
  for (let i = 0; i < instances.length; i += 50) {
    const chunk = instances.slice(i, i + 50);
    log.log({
      requestId: `${MODEL}-${tag}-${i}`,
      model: MODEL,
      version,
      role: 'production',
      instances: chunk,
      predictions: chunk.map(() => 0.2),
      latencyMs: 1,
      at,
    });
  }
  await log.close();
  expect(log.stats()).toMatchObject({ logged: instances.length, dropped: 0 });
}

describe('monitoring and retraining on the real stack', () => {
  let trained: TrainingPipelineResult;

  test('a window like the training data: no drift, nothing started; a shifted one: drift, an alert, <model>-retrain registers a new version', async () => {
    trained = await watchPipeline(await startTrainingPipeline(stack.client, spec), false);
    const production = await productionVersion(stack.db, MODEL);
    expect(production?.version).toBe(trained.model.version);
    const version = production!.version;
    const sample = await sampleRows();
    expect(sample).toHaveLength(ROWS);

    // Like training, logged 100 minutes ago: seen by a 180-minute window only.
    await logWindow(version, sample, new Date(Date.now() - 100 * 60_000), 'like');
    const calm = await cli('monitor', 'run', MODEL, specFile, '--window', '180m');
    expect(calm).toContain(`Monitor of ${MODEL} v${version}: ok`);
    expect(calm).toContain(`${ROWS} logged rows`);
    expect(calm).toMatch(/distance\s+JS\s+[\d.]+\s+0\.1\s+no/);
    expect(calm).not.toContain('Retrain');
    expect(await listAlerts(stack.db, { model: MODEL })).toEqual([]);

    // Shifted, logged 10 minutes ago: the default 60-minute window sees it alone.
    const origins = ['LAX', 'SFO', 'SEA'];
    const shifted = sample.map((r, i) => ({ ...r, distance: (r.distance as number) * 5, origin: origins[i % origins.length] }));
    await logWindow(version, shifted, new Date(Date.now() - 10 * 60_000), 'shifted');
    const drifted = await cli('monitor', 'run', MODEL, specFile);
    expect(drifted).toContain(`Monitor of ${MODEL} v${version}: ALERT (drift)`);
    expect(drifted).toMatch(/drift: .*distance JS [\d.]+ > 0\.1/);
    expect(drifted).toMatch(/origin L-inf [\d.]+ > 0\.1/);
    expect(drifted).toContain(`Retrain  started ${MODEL}-retrain`);

    const [alert, ...more] = await listAlerts(stack.db, { model: MODEL });
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ model: MODEL, version, kind: 'drift', retrainWorkflowId: `${MODEL}-retrain` });
    expect(alert!.reason).toMatch(/^drift: /);
    expect((alert!.details as { drift: { rows: number } }).drift.rows).toBe(ROWS);

    // The retraining run: the training pipeline under its fixed id, registering a new version.
    const retrained = await stack.client.workflow.getHandle<() => Promise<TrainingPipelineResult>>(`${MODEL}-retrain`).result();
    expect(retrained.runId).toBe(`${MODEL}-retrain`);
    expect(retrained.model.version).toBeGreaterThan(version);
    expect((await listModelVersions(stack.db, MODEL)).map((v) => v.version)).toContain(retrained.model.version);

    const listed = await cli('alerts', MODEL);
    expect(listed).toContain('retraining run');
    expect(listed).toContain(alert!.reason.slice(0, 30));
    expect(listed).toContain(`${MODEL}-retrain`);
    expect(listed).toContain(`v${version}`);
  });

  test('monitor create makes an interval Schedule of monitorModel (overlap SKIP); monitor delete removes it', async () => {
    const created = await cli('monitor', 'create', MODEL, '--every', '1h', specFile, '--window', '30m', '--min-rows', '100');
    expect(created).toContain(`Created monitor of ${MODEL} (pipewright-monitor-${MODEL}): every 1 hour`);
    const handle = stack.client.schedule.getHandle(`pipewright-monitor-${MODEL}`);
    const description = await handle.describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'monitorModel' });
    expect(description.spec.intervals?.[0]?.every).toBe(3_600_000);
    expect(description.policies.overlap).toBe('SKIP');
    const [input] = (description.action as { args?: Array<{ monitor: { windowMinutes: number; minRows: number } }> }).args ?? [];
    expect(input?.monitor).toMatchObject({ model: MODEL, windowMinutes: 30, minRows: 100 });
    expect(await cli('monitor', 'delete', MODEL)).toContain(`Deleted the monitor of ${MODEL}`);
    await expect(handle.describe()).rejects.toThrow();
  });
});
