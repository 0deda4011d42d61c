import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { ArtifactStore } from '../../lib/artifacts/artifact-store';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { readTransform } from '../../lib/features/transform';
import { initBackend } from '../../lib/models/backend';
import { loadSavedModel, saveModel } from '../../lib/models/model-io';
import { aliasHistory, getModelVersion, productionVersion } from '../../lib/registry/model-registry';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { flightsSpec, openTestStack, type TestStack } from './stack';

/**
 * Releases on the real stack: a deliberately broken version (its weights NaN, so it answers nothing
 * finite) rolled out as a canary is rolled back on its own while live traffic runs, production
 * answering every request it keeps; a sound version is promoted when the window ends. Both are
 * recorded in the canary alias's history.
 */

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const TABLE = 'flights_50000';
const MODEL = 'it_rollout';

let stack: TestStack;
let instances: Array<Record<string, unknown>>;

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
  const base = flightsSpec(TABLE);
  // Logistic: a NaN weight reaches the output (an MLP's ReLU could turn it into 0).
  const spec = flightsSpec(TABLE, { name: MODEL, model: { type: 'logistic', epochs: 1, batchSize: base.model.batchSize, learningRate: 0.05, seed: 7 } });
  const result = await watchPipeline(await startTrainingPipeline(stack.client, spec, { reuseSteps: false }), false);
  expect(result.deployed).toBe(true);
  const { rows } = await stack.db.query<{ date: string; distance: number; origin: string; destination: string }>(
    `SELECT to_char(date, 'YYYY-MM-DD"T"HH24:MI:SS') AS date, distance, origin, destination FROM ${TABLE} ORDER BY id LIMIT 200`,
  );
  instances = rows;
});

afterAll(async () => {
  await stack?.close();
});

/**
 * Registers a copy of production as a new version. `nan`: every weight NaN, so it answers nothing
 * finite. `origins`: NaN only where the first layer reads the origin airports other than the most
 * frequent one, so it answers the typical instance of the release's check (the most frequent
 * origin) and fails on much of the live traffic: a fault only a canary finds.
 */
async function registerCopy(broken: 'nan' | 'origins' | false): Promise<number> {
  const production = (await productionVersion(stack.db, MODEL))!;
  let modelUri = production.modelUri;
  let modelSha = production.modelSha256;
  if (broken) {
    await initBackend('cpu');
    const transform = await readTransform({ uri: production.transformUri });
    const { model } = await loadSavedModel({ uri: production.modelUri }, transform);
    const origin = transform.features.find((f) => f.name === 'origin')!;
    model.setWeights(
      model.getWeights().map((w) => {
        if (broken === 'nan') return tf.fill(w.shape, Number.NaN);
        if (w.shape.length !== 2 || w.shape[0] !== transform.inputDim) return w;
        const values = w.arraySync() as number[][];
        for (let slot = origin.offset + 1; slot < origin.offset + origin.width; slot++) values[slot]!.fill(Number.NaN);
        return tf.tensor2d(values);
      }),
    );
    const ref = await saveModel(new ArtifactStore(path.join(stack.home, 'artifacts')), 'models', model);
    model.dispose();
    modelUri = ref.uri;
    modelSha = ref.sha256;
  }
  const { rows } = await stack.db.query<{ version: number }>(
    `INSERT INTO pipewright_model_versions (name, version, run_id, stage, backend, metrics, model_uri, model_sha256, transform_uri, transform_sha256, dataset_sha256, spec)
     SELECT name, (SELECT max(version) + 1 FROM pipewright_model_versions WHERE name = $1), run_id || '-copy-' || $2, 'registered', backend, metrics, $3, $4,
            transform_uri, transform_sha256, dataset_sha256, spec
       FROM pipewright_model_versions WHERE name = $1 AND version = $5
     RETURNING version`,
    [MODEL, Date.now(), modelUri, modelSha, production.version],
  );
  return rows[0]!.version;
}

/** Live traffic while `body` runs: V1 predictions of real flights, 4 at a time; the status and version of every answer. */
async function withTraffic<T>(body: () => Promise<T>): Promise<{ value: T; answers: Array<{ status: number; version?: number }> }> {
  const answers: Array<{ status: number; version?: number }> = [];
  let stop = false;
  const client = async (offset: number): Promise<void> => {
    for (let i = offset; !stop; i += 4) {
      const res = await fetch(`${stack.info.serveUrl}/v1/models/${MODEL}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [instances[i % instances.length]] }),
      });
      const body = (await res.json()) as { model_version?: number };
      answers.push({ status: res.status, ...(body.model_version !== undefined ? { version: body.model_version } : {}) });
    }
  };
  const clients = [0, 1, 2, 3].map(client);
  try {
    return { value: await body(), answers };
  } finally {
    stop = true;
    await Promise.all(clients);
  }
}

const cli = (...args: string[]) =>
  execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.env } }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: `${err.stdout}${err.stderr}` }),
  );

test('a version that cannot answer fails its check and gets no traffic', async () => {
  const broken = await registerCopy('nan');
  const run = await cli('rollout', MODEL, String(broken), '--share', '0.5', '--window', '10m');
  expect(run.code).toBe(1);
  expect(run.out).toContain(
    `Rolled back ${MODEL} v${broken} (canary): ${MODEL} v${broken} failed its check on the model server: row 0 gives no finite prediction`,
  );
  expect((await aliasHistory(stack.db, MODEL, 'canary')).length).toBe(0);
});

test('a canary broken for part of the traffic is rolled back on its own; production answers every request it keeps', async () => {
  const production = (await productionVersion(stack.db, MODEL))!.version;
  const broken = await registerCopy('origins');
  const { value: run, answers } = await withTraffic(() => cli('rollout', MODEL, String(broken), '--share', '0.5', '--window', '2m', '--min-requests', '20'));
  expect(run.code).toBe(1);
  expect(run.out).toMatch(new RegExp(`Rolled back ${MODEL} v${broken} \\(canary\\): the canary failed \\d+ of \\d+ requests`));
  expect((await productionVersion(stack.db, MODEL))!.version).toBe(production);
  // Production answered all of its share; the broken canary's answers were 4xx, never 5xx.
  expect(answers.filter((a) => a.version === production).every((a) => a.status === 200)).toBe(true);
  expect(answers.some((a) => a.status === 400)).toBe(true);
  expect(answers.every((a) => a.status < 500)).toBe(true);
  // Newest first: the removal with the reason, then the start.
  const history = await aliasHistory(stack.db, MODEL, 'canary');
  expect(history.map((h) => h.version)).toEqual([null, broken]);
  expect(history[0]!.reason).toMatch(/^rolled back: the canary failed/);
  expect(history[0]!.actor).toMatch(/ via rollout-it_rollout-v\d+$/);
  expect(history[1]!.reason).toBe('rollout started, canary: 50% of live requests');
  // After the rollout every request goes to production again.
  const after = await fetch(`${stack.info.serveUrl}/v1/models/${MODEL}:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [instances[0]] }),
  });
  expect(((await after.json()) as { model_version: number }).model_version).toBe(production);
});

test('a sound version is promoted when the window ends, and the server serves it', async () => {
  const sound = await registerCopy(false);
  const { value: run } = await withTraffic(() =>
    cli('rollout', MODEL, String(sound), '--share', '0.5', '--window', '8s', '--min-requests', '10', '--max-latency-ratio', '50'),
  );
  expect(run.out).toMatch(new RegExp(`Promoted ${MODEL} v${sound} \\(canary\\): canary held for 8 s`));
  expect(run.code).toBe(0);
  expect((await productionVersion(stack.db, MODEL))!.version).toBe(sound);
  expect((await getModelVersion(stack.db, MODEL, 'production')).version).toBe(sound);
  const res = await fetch(`${stack.info.serveUrl}/v2/models/${MODEL}`);
  expect(((await res.json()) as { versions: string[] }).versions).toEqual([String(sound)]);
});
