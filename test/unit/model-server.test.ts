import { initBackend } from '../../lib/models/backend';
import { predictCodes } from '../../lib/models/predict';
import { encodeInstanceCodes } from '../../lib/serving/instances';
import type { EvaluationMetrics } from '../../contracts/refs';
import { servingFixture } from './fixtures/serving';

/**
 * The model server's answers for each task, over HTTP: a production version read from a stand-in
 * registry (a pool whose query returns the version's row), its model and fitted transform from a
 * temp artifact store.
 */

beforeAll(async () => {
  // The backend the server picks for its few-row requests: the models are built and compared on it.
  await initBackend(undefined, { batchSize: 1 });
});

/** A server with one production model, `name`, trained on nothing (its weights are the seeded initial ones), listening on a free port. */
async function serving(name: string, label: unknown, metrics: EvaluationMetrics) {
  const fixture = await servingFixture(name, label, metrics);
  const port = await fixture.server.start(0);
  return { close: fixture.close, url: `http://127.0.0.1:${port}/v1/models/${name}`, transform: fixture.transform, model: fixture.model };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const instances = [{ x: 1.5 }, { x: 9 }, { x: 5 }];

test('binary: a probability per instance, as before', async () => {
  const metrics: EvaluationMetrics = { auc: 0.7, logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: 10 };
  const { close, url, transform, model } = await serving('late', { column: 'y', greaterThan: 0 }, metrics);
  try {
    const { status, body } = await post(url, { instances });
    expect(status).toBe(200);
    const { codes, rows } = encodeInstanceCodes(transform, instances);
    expect(body).toEqual({ predictions: Array.from(await predictCodes(model, transform, codes, rows)), model_name: 'late', model_version: 3 });
    const meta = (await (await fetch(`${url}/metadata`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ task: 'binary', output: 'probability that y > 0', inputs: [{ field: 'x', type: 'number' }], metrics });
    expect(meta).not.toHaveProperty('classes');
  } finally {
    await close();
  }
});

test('multiclass: the most probable class and every class probability per instance', async () => {
  const { close, url, transform, model } = await serving(
    'weather',
    { column: 'cls', classes: 'auto' },
    {
      task: 'multiclass',
      accuracy: 0.5,
      logLoss: 1,
      macroF1: 0.4,
      microF1: 0.5,
      rows: 10,
      perClass: [],
    },
  );
  try {
    const { status, body } = await post(url, { instances });
    expect(status).toBe(200);
    const classes = ['fog', 'rain', 'snow', 'sun'];
    const { codes, rows } = encodeInstanceCodes(transform, instances);
    const outputs = await predictCodes(model, transform, codes, rows);
    const predictions = body.predictions as Array<{ class: string; probabilities: Record<string, number> }>;
    expect(predictions).toHaveLength(3);
    predictions.forEach((p, r) => {
      expect(Object.keys(p.probabilities)).toEqual(classes);
      classes.forEach((c, k) => expect(p.probabilities[c]).toBe(outputs[r * 4 + k]));
      const best = classes.reduce((a, c) => (p.probabilities[c]! > p.probabilities[a]! ? c : a));
      expect(p.class).toBe(best);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    });
    const meta = (await (await fetch(`${url}/metadata`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      task: 'multiclass',
      classes,
      output: '{"class": the most probable of the 4 classes of cls, "probabilities": {class: probability}}',
    });
  } finally {
    await close();
  }
});

test("regression: the value in the label's units per instance; bad instances are still a 400", async () => {
  const { close, url, transform, model } = await serving(
    'minutes',
    { column: 'y', task: 'regression' },
    {
      task: 'regression',
      rmse: 5,
      mae: 4,
      r2: 0.3,
      rows: 10,
    },
  );
  try {
    const { status, body } = await post(url, { instances });
    expect(status).toBe(200);
    const { codes, rows } = encodeInstanceCodes(transform, instances);
    const outputs = await predictCodes(model, transform, codes, rows);
    const label = transform.label as { mean: number; std: number };
    (body.predictions as number[]).forEach((value, r) => expect(value).toBeCloseTo(outputs[r]! * label.std + label.mean, 9));
    const meta = (await (await fetch(`${url}/metadata`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ task: 'regression', output: "predicted y, in the column's own units" });
    expect(await post(url, { instances: [{ x: 'far' }] })).toEqual({ status: 400, body: { error: 'instances[0].x must be a number, got "far"' } });
  } finally {
    await close();
  }
});
