import { initBackend } from '../../lib/models/backend';
import { predictCodes } from '../../lib/models/predict';
import { encodeInstanceCodes } from '../../lib/serving/instances';
import type { EvaluationMetrics } from '../../contracts/refs';
import { servingFixture, type ServingFixture } from './fixtures/serving';

/**
 * The model server's KServe V2 and TF-Serving V1 APIs through Fastify's inject(): the same rows give
 * the same predictions on every route and form, batched or not, across a hot swap.
 */

const BINARY: EvaluationMetrics = { auc: 0.7, logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: 10 };
const FEATURES = [
  { kind: 'numeric', name: 'x', column: 'x' },
  { kind: 'categorical', name: 'cls', column: 'cls' },
];
const rows = [
  { x: 1.5, cls: 'sun' },
  { x: 9, cls: 'fog' },
  { x: 5, cls: 'snow' },
];
const v2Inputs = [
  { name: 'x', shape: [3], datatype: 'FP64', data: rows.map((r) => r.x) },
  { name: 'cls', shape: [3], datatype: 'BYTES', data: rows.map((r) => r.cls) },
];

let fixture: ServingFixture;
let expected: number[];
const logged: Array<{
  requestId: string;
  model: string;
  version: number;
  instances: ReadonlyArray<Record<string, unknown>>;
  predictions: ReadonlyArray<unknown>;
}> = [];
const feedback: unknown[] = [];

beforeAll(async () => {
  await initBackend(undefined, { batchSize: 1 });
  fixture = await servingFixture('late', { column: 'y', greaterThan: 0 }, BINARY, {
    features: FEATURES,
    predictionLog: { log: (record) => logged.push(record), stats: () => ({ logged: logged.length, dropped: 0, queued: 0, failedFlushes: 0 }) },
    feedback: async (input) => {
      feedback.push(input);
      return { recorded: input.labels.length, matched: input.labels.length };
    },
  });
  const { codes, rows: n } = encodeInstanceCodes(fixture.transform, rows);
  expected = Array.from(await predictCodes(fixture.model, fixture.transform, codes, n));
});

afterAll(async () => {
  await fixture.close();
});

const inject = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  fixture.server.app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}), headers });

describe('KServe V2', () => {
  test('health, server metadata and model readiness', async () => {
    expect((await inject('GET', '/v2/health/live')).json()).toEqual({ live: true });
    expect((await inject('GET', '/v2/health/ready')).json()).toEqual({ ready: true });
    expect((await inject('GET', '/v2')).json()).toMatchObject({ name: 'pipewright' });
    expect((await inject('GET', '/v2/models/late/ready')).json()).toEqual({ name: 'late', version: '3', ready: true });
    const unknown = await inject('GET', '/v2/models/early/ready');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('model "early" has no production version; serving: late');
  });

  test('metadata names the raw inputs with their datatypes, and the output', async () => {
    const meta = (await inject('GET', '/v2/models/late')).json();
    expect(meta).toMatchObject({
      name: 'late',
      versions: ['3'],
      inputs: [
        { name: 'x', datatype: 'FP64', shape: [-1] },
        { name: 'cls', datatype: 'BYTES', shape: [-1] },
      ],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1] }],
      parameters: { task: 'binary', output: 'probability that y > 0' },
    });
  });

  test('infer: one tensor per raw column in, the probability tensor out, the id echoed', async () => {
    const res = await inject('POST', '/v2/models/late/infer', { id: 'req-42', inputs: v2Inputs });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-42');
    expect(res.json()).toEqual({
      model_name: 'late',
      model_version: '3',
      id: 'req-42',
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [3], data: expected }],
    });
    expect(logged.at(-1)).toMatchObject({ requestId: 'req-42', model: 'late', version: 3, instances: rows, predictions: expected });
  });

  test('infer: [rows, 1] tensors nested as their shape, a version by number, requested outputs', async () => {
    const nested = v2Inputs.map((t) => ({ ...t, shape: [3, 1], data: t.data.map((v) => [v]) }));
    const res = await inject('POST', '/v2/models/late/versions/3/infer', { inputs: nested, outputs: [{ name: 'probability' }] });
    expect(res.statusCode).toBe(200);
    expect(res.json().outputs[0].data).toEqual(expected);
    const missing = await inject('POST', '/v2/models/late/versions/4/infer', { inputs: v2Inputs });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatch(/version 4/);
  });

  test('feedback records the true labels against the request id', async () => {
    const res = await inject('POST', '/v2/models/late/feedback', { id: 'req-42', labels: [true, false, 1] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ recorded: 3, matched: 3 });
    expect(feedback.at(-1)).toEqual({
      requestId: 'req-42',
      model: 'late',
      labels: [
        { row: 0, label: true },
        { row: 1, label: false },
        { row: 2, label: 1 },
      ],
    });
    expect((await inject('POST', '/v2/models/late/feedback', { id: 'req-42', labels: [{ deep: 1 }] })).statusCode).toBe(400);
  });
});

describe('TF-Serving V1', () => {
  test('instances (rows) and inputs (columns) give the same predictions', async () => {
    const byRows = await inject('POST', '/v1/models/late:predict', { instances: rows }, { 'x-request-id': 'abc-1' });
    expect(byRows.statusCode).toBe(200);
    expect(byRows.headers['x-request-id']).toBe('abc-1');
    expect(byRows.json()).toEqual({ predictions: expected, model_name: 'late', model_version: 3 });
    const byColumns = await inject('POST', '/v1/models/late/versions/3:predict', { inputs: { x: rows.map((r) => r.x), cls: rows.map((r) => r.cls) } });
    expect(byColumns.json()).toEqual({ outputs: expected, model_name: 'late', model_version: 3 });
  });

  test('version status and metadata, also by version', async () => {
    expect((await inject('GET', '/v1/models/late/versions/3')).json()).toEqual({
      model_version_status: [{ version: '3', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
    expect((await inject('GET', '/v1/models/late/metadata')).json()).toMatchObject({ name: 'late', version: 3, task: 'binary' });
    expect((await inject('GET', '/v1/models/late/versions/x7:predict')).statusCode).toBe(400);
  });
});

describe('micro-batching, metrics and hot swaps', () => {
  test('concurrent requests are answered from shared forward passes, each with its own rows', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        inject('POST', '/v1/models/late:predict', { instances: [rows[i % 3]] }).then((r) => r.json().predictions[0] as number),
      ),
    );
    answers.forEach((p, i) => expect(p).toBeCloseTo(expected[i % 3]!, 6));
    const metrics = (await inject('GET', '/metrics')).body;
    // Some forward pass served more than one request: its bucket "le=1" holds fewer than all passes.
    const ones = Number(/pipewright_serving_batch_requests_bucket\{le="1",model="late"\} (\d+)/.exec(metrics)![1]);
    const passes = Number(/pipewright_serving_batch_requests_count\{model="late"\} (\d+)/.exec(metrics)![1]);
    expect(ones).toBeLessThan(passes);
    expect(metrics).toMatch(/pipewright_serving_requests_total\{route="\/v1\/models\/\*",model="late",code="200"\} \d+/);
    expect(metrics).toMatch(/pipewright_serving_model_version\{model="late",role="production"\} 3/);
    expect(metrics).toMatch(/pipewright_prediction_log_rows\{state="logged"\} \d+/);
  });

  test('a hot swap during a burst fails no request; later requests get the new version', async () => {
    const next = await fixture.promoteNewVersion();
    const burst = Array.from({ length: 60 }, () => inject('POST', '/v1/models/late:predict', { instances: rows }));
    const reload = inject('POST', '/admin/reload', { name: 'late' });
    const answers = await Promise.all(burst);
    expect((await reload).json()).toEqual({ loaded: { name: 'late', version: next } });
    for (const a of answers) {
      expect(a.statusCode).toBe(200);
      expect([3, next]).toContain(a.json().model_version);
    }
    expect((await inject('POST', '/v1/models/late:predict', { instances: rows })).json().model_version).toBe(next);
    // The old version stays reachable by number.
    expect((await inject('POST', '/v1/models/late/versions/3:predict', { instances: rows })).json().predictions).toEqual(expected);
  });
});
