import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { listModelVersions, productionVersion } from '../../lib/registry/model-registry';
import { failureMessage, startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { predictOverHttp, sampleFlight } from '../../scripts/client/predict';
import { progressQuery, MODEL, PIPELINE, STAGE } from '../../contracts';
import type { TrainingPipelineResult } from '../../contracts';
import { flightsSpec, openTestStack, type TestStack } from './stack';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const TABLE = 'flights_50000';

let stack: TestStack;
let first: TrainingPipelineResult;
let firstWorkflowId: string;

beforeAll(async () => {
  stack = await openTestStack();
  const load = await ensureFlightsTable(stack.db, TABLE, 50_000);
  expect(load.rows).toBe(50_000);
  // Every step computed, whatever other suites left in the step cache.
  const handle = await startTrainingPipeline(stack.client, flightsSpec(TABLE), { reuseSteps: false });
  firstWorkflowId = handle.workflowId;
  first = await watchPipeline(handle, false);
});

afterAll(async () => {
  await stack?.close();
});

describe('trainingPipeline on a real Temporal dev server and PostgreSQL (50k flights)', () => {
  test('ingests every row, trains, evaluates on the held-out split and deploys', async () => {
    expect(first.rows).toBe(50_000);
    expect(first.quarantinedRows).toBe(0);
    // 20% test split by key hash: the evaluated rows are about a fifth of the table.
    expect(first.metrics.rows).toBeGreaterThan(9_000);
    expect(first.metrics.rows).toBeLessThan(11_000);
    // A model that learned something: better than chance, and calibrated better than the constant predictor.
    expect(binaryMetricsOf(first.metrics).auc).toBeGreaterThan(0.6);
    const p = binaryMetricsOf(first.metrics).positiveRate;
    const constantLogLoss = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    expect(binaryMetricsOf(first.metrics).logLoss).toBeLessThan(constantLogLoss);
    expect(first.backend).toBe('wasm');
    expect(first.model.servedBy).toBe(stack.info.serveUrl);
    for (const seconds of Object.values(first.stageSeconds)) expect(seconds).toBeGreaterThanOrEqual(0);
  });

  test('registers the version with metrics and lineage, and promotes it to production', async () => {
    const production = await productionVersion(stack.db, 'flights');
    expect(production?.version).toBe(first.model.version);
    expect(production?.runId).toBe(firstWorkflowId);
    expect(binaryMetricsOf(production!.metrics).auc).toBeCloseTo(binaryMetricsOf(first.metrics).auc, 10);
    expect(production?.modelUri).toMatch(/^file:\/\//);
    const runs = await stack.db.query<{ status: string; stage_seconds: Record<string, number> }>(
      'SELECT status, stage_seconds FROM pipewright_runs WHERE run_id = $1',
      [firstWorkflowId],
    );
    expect(runs.rows[0]?.status).toBe('succeeded');
    // jsonb keeps keys in its own order, so compare them as a set.
    expect(Object.keys(runs.rows[0]!.stage_seconds).sort()).toEqual(['deploy', 'evaluate', 'ingest', 'register', 'train', 'transform', 'validate']);
  });

  test('is visible in Temporal with typed search attributes, a summary and a progress query', async () => {
    const handle = stack.client.workflow.getHandle(firstWorkflowId);
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(PIPELINE)).toBe('flights');
    expect(description.typedSearchAttributes.get(MODEL)).toBe('flights');
    expect(description.typedSearchAttributes.get(STAGE)).toBe('finished');
    expect(await description.staticSummary()).toContain('flights');
    const progress = await handle.query(progressQuery);
    expect(progress.stage).toBe('finished');
    expect(progress.stages.ingest).toMatchObject({ status: 'done', done: 3, total: 3 });
    expect(progress.trainLoss).toHaveLength(2);
    // The Web UI's list filter: the run is found by its search attributes.
    const found: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `PipewrightPipeline = "flights" AND PipewrightStage = "finished"` })) found.push(wf.workflowId);
    expect(found).toContain(firstWorkflowId);
  });

  test('the same spec on the same data yields a bit-identical model (seeded, content-addressed)', async () => {
    const again = await watchPipeline(await startTrainingPipeline(stack.client, flightsSpec(TABLE), { reuseSteps: false }), false);
    const versions = await listModelVersions(stack.db, 'flights');
    const a = versions.find((v) => v.version === first.model.version)!;
    const b = versions.find((v) => v.version === again.model.version)!;
    expect(b.version).toBe(a.version + 1);
    expect(b.datasetSha256).toBe(a.datasetSha256);
    expect(b.transformSha256).toBe(a.transformSha256);
    expect(b.modelSha256).toBe(a.modelSha256);
    expect(again.metrics).toEqual(first.metrics);
  });
});

describe('the step cache', () => {
  test('a run with unchanged data and spec reuses every step after ingest and deploys the same model as a new version', async () => {
    const handle = await startTrainingPipeline(stack.client, flightsSpec(TABLE));
    const cached = await watchPipeline(handle, false);
    const progress = await handle.query(progressQuery);
    expect(progress.stages.transform).toMatchObject({ status: 'done', cached: progress.stages.transform.total });
    expect(progress.stages.train).toMatchObject({ status: 'done', cached: 1 });
    expect(progress.stages.evaluate).toMatchObject({ status: 'done', cached: 1 });
    // No training child, no fit: the history schedules only ingest, validate, register, deploy and the run log.
    await expect(stack.client.workflow.getHandle(`${handle.workflowId}-train`).describe()).rejects.toThrow();
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : [],
    );
    expect(new Set(scheduled)).toEqual(
      new Set(['recordRunStarted', 'planIngest', 'ingestPartition', 'checkDataset', 'registerModel', 'deployModel', 'recordRunFinished']),
    );
    const versions = await listModelVersions(stack.db, 'flights');
    const reused = versions.find((v) => v.version === cached.model.version)!;
    const original = versions.find((v) => v.version === first.model.version)!;
    expect(reused.modelSha256).toBe(original.modelSha256);
    expect(cached.metrics).toEqual(first.metrics);
    // `--no-cache` is the CLI's way to the same choice as reuseSteps: false above.
    const help = await execFileAsync(process.execPath, [CLI, '--help']);
    expect(help.stdout).toContain('--no-cache');
  });
});

describe('the model server', () => {
  const predictUrl = (): string => `${stack.info.serveUrl}/v1/models/flights:predict`;
  const post = (body: string): Promise<Response> => fetch(predictUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  test('predicts a real flight over HTTP with the fitted transform', async () => {
    const { instance } = await sampleFlight(stack.db, TABLE);
    const production = await productionVersion(stack.db, 'flights');
    const result = await predictOverHttp(stack.info.serveUrl!, 'flights', [instance, { ...instance, origin: 'NOT-AN-AIRPORT' }]);
    expect(result.model_version).toBe(production!.version);
    expect(result.predictions).toHaveLength(2);
    for (const p of result.predictions) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }
  });

  test('answers 400 naming the field for missing or mistyped features, and keeps serving', async () => {
    const { instance } = await sampleFlight(stack.db, TABLE);
    const { distance: _omit, ...missing } = instance;
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify({ instances: [missing] }), /instances\[0\]\.distance is missing/],
      [JSON.stringify({ instances: [{ ...instance, distance: 'far' }] }), /instances\[0\]\.distance must be a number/],
      [JSON.stringify({ instances: [instance, { ...instance, origin: 42 }] }), /instances\[1\]\.origin must be a string/],
      [JSON.stringify({ instances: [{ ...instance, date: 'yesterday' }] }), /instances\[0\]\.date must be an ISO-8601 date-time/],
      [JSON.stringify({ rows: [instance] }), /"instances"/],
      ['{"instances": [', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    const ok = await post(JSON.stringify({ instances: [instance] }));
    expect(ok.status).toBe(200);
    const unknown = await fetch(`${stack.info.serveUrl}/v1/models/no_such_model:predict`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
  });
});

describe('bad input stops the run with one clear, non-retryable failure', () => {
  async function failureOf(spec: ReturnType<typeof flightsSpec>): Promise<{ message: string; type: string | undefined; stage: string | undefined }> {
    const handle = await startTrainingPipeline(stack.client, spec);
    try {
      await handle.result();
    } catch (err) {
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const progress = await handle.query(progressQuery);
      expect(progress.stage).toBe('failed');
      const stage = Object.entries(progress.stages).find(([, s]) => s.status === 'failed')?.[0];
      return { message: failureMessage(err), type: ((err as WorkflowFailedError).cause as { type?: string } | undefined)?.type, stage };
    }
    throw new Error('the run should have failed');
  }

  test('a missing table', async () => {
    const failure = await failureOf(flightsSpec('no_such_table'));
    expect(failure.type).toBe('PipelineInputError');
    expect(failure.message).toMatch(/table "no_such_table" does not exist/);
    expect(failure.stage).toBe('ingest');
  });

  test('a missing column', async () => {
    const spec = flightsSpec(TABLE, {
      features: [
        { kind: 'numeric', name: 'distance', column: 'distance' },
        { kind: 'numeric', name: 'air_time', column: 'air_time' },
      ],
    });
    const failure = await failureOf(spec);
    expect(failure.type).toBe('PipelineInputError');
    expect(failure.message).toMatch(
      /features\[1\]\.column: column "air_time" is not in flights_50000 \(it has: id, date, delay, distance, origin, destination\)/,
    );
  });

  test('a non-numeric numeric feature', async () => {
    const spec = flightsSpec(TABLE, { features: [{ kind: 'numeric', name: 'origin_code', column: 'origin' }] });
    const failure = await failureOf(spec);
    expect(failure.message).toMatch(/features\[0\]\.column: column "origin" of flights_50000 has type text, but it must be a numeric type/);
  });

  test('malformed rows are quarantined with reasons: counted when under the threshold, failing the run over it', async () => {
    await stack.db.query(`DROP TABLE IF EXISTS flights_dirty`);
    await stack.db.query(`CREATE TABLE flights_dirty AS SELECT * FROM ${TABLE} WHERE id < 5000`);
    await stack.db.query(`UPDATE flights_dirty SET distance = NULL WHERE id % 100 = 7`); // 50 rows
    const tolerant = await watchPipeline(
      await startTrainingPipeline(stack.client, flightsSpec('flights_dirty', { name: 'flights_dirty', quarantine: { maxBadRowFraction: 0.05 } })),
      false,
    );
    expect(tolerant.quarantinedRows).toBe(50);
    expect(tolerant.rows).toBe(4950);

    const strict = await failureOf(flightsSpec('flights_dirty', { name: 'flights_dirty', quarantine: { maxBadRowFraction: 0.001 } }));
    expect(strict.type).toBe('PipelineInputError');
    expect(strict.stage).toBe('validate');
    expect(strict.message).toMatch(/50 of 5000 rows \(1\.00%\) are malformed, over quarantine\.maxBadRowFraction=0\.001/);
    expect(strict.message).toMatch(/quarantine\/.*\.ndjson/);
  });
});

describe('the pipewright CLI', () => {
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, ...stack.env });

  test('`run` rejects an invalid spec with the field named, before starting anything', async () => {
    const bad = path.join(stack.home, 'bad-spec.json');
    await writeFile(bad, JSON.stringify({ ...flightsSpec(TABLE), model: { type: 'forest', epocs: 2 } }));
    const run = execFileAsync(process.execPath, [CLI, 'run', bad], { env: env() });
    await expect(run).rejects.toMatchObject({ code: 2 });
    const { stderr } = await run.catch((e: { stderr: string }) => e);
    expect(stderr).toMatch(/model: unknown field "epocs"/);
    expect(stderr).toMatch(/model\.type: /);
  });

  test('an unreachable Temporal or PostgreSQL stops the CLI with one message naming it and the fix', async () => {
    const spec = path.join(__dirname, '..', '..', 'examples', 'flights.json');
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const noTemporal = await execFileAsync(process.execPath, [CLI, 'run', spec], { env: { ...env(), TEMPORAL_ADDRESS: '127.0.0.1:1' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(noTemporal).toMatchObject({ code: 1 });
    expect((noTemporal as { stderr: string }).stderr).toMatch(/cannot reach Temporal at 127\.0\.0\.1:1 .*set TEMPORAL_ADDRESS/);
    const otherHome = await mkdtemp(path.join(os.tmpdir(), 'pipewright-it-nopg-'));
    const noPostgres = await execFileAsync(process.execPath, [CLI, 'up'], {
      env: {
        ...env(),
        PIPEWRIGHT_HOME: otherHome,
        TEMPORAL_ADDRESS: stack.info.temporalAddress,
        DATABASE_URL: 'postgres://someone:secret@127.0.0.1:1/nowhere',
      },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(noPostgres).toMatchObject({ code: 1 });
    const stderr = (noPostgres as { stderr: string }).stderr;
    expect(stderr).toMatch(/cannot connect to PostgreSQL at DATABASE_URL=postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    expect(stderr).not.toContain('secret');
    await rm(otherHome, { recursive: true, force: true });
  });

  test('`up` refuses to start a second stack over a running one, and leaves the running one alone', async () => {
    const second = await execFileAsync(process.execPath, [CLI, 'up'], { env: env() }).catch((e: { code: number; stderr: string }) => e);
    expect(second).toMatchObject({ code: 1 });
    expect((second as { stderr: string }).stderr).toMatch(/a pipewright stack \(pid \d+\) is already running for PIPEWRIGHT_HOME=/);
    const info = JSON.parse(await readFile(path.join(stack.home, 'stack.json'), 'utf8')) as { pid: number };
    expect(info.pid).toBe(stack.info.pid);
  });

  test('`status` reports stage, progress and metrics of a run', async () => {
    const { stdout } = await execFileAsync(process.execPath, [CLI, 'status', firstWorkflowId], { env: env() });
    expect(stdout).toContain(`${firstWorkflowId}: COMPLETED · stage finished`);
    expect(stdout).toMatch(/metrics: AUC 0\.\d{4}/);
    expect(stdout).toMatch(/model: flights v\d+/);
  });

  test('`run` on a running stack prints the model version and metrics', async () => {
    const specFile = path.join(stack.home, 'flights-50k.json');
    await writeFile(specFile, JSON.stringify(flightsSpec(TABLE)));
    const { stdout } = await execFileAsync(process.execPath, [CLI, 'run', specFile, '--limit', '20000'], { env: env() });
    expect(stdout).toMatch(/Run flights-\d{8}-\d{6}-\d{3} succeeded/);
    expect(stdout).toMatch(/Model {4}flights v\d+ \(backend wasm\)/);
    expect(stdout).toMatch(/Metrics {2}AUC 0\.\d{4}/);
  });
});
