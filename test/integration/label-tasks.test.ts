import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import type { ClassPrediction } from '../../lib/features/label-task';
import { readTransform } from '../../lib/features/transform';
import { listRuns } from '../../lib/registry/run-log';
import { productionVersion } from '../../lib/registry/model-registry';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { predictOverHttp, sampleFlight } from '../../scripts/client/predict';
import { openTestStack, type TestStack } from './stack';

/**
 * The two example specs of the other tasks, end to end on the real stack over the same flights
 * table the binary tests use: examples/flights-multiclass.json (delay buckets from a source query)
 * and examples/flights-delay-regression.json (the clipped delay in minutes). Each trains, is
 * evaluated with its task's metrics, is registered with them and served with its task's output.
 */

const TABLE = 'flights_50000';

let stack: TestStack;

/** An example spec pointed at `TABLE`, with a short training run. */
function example(file: string): PipelineSpec {
  const value = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', file), 'utf8')) as {
    source: { query: string };
    model: Record<string, unknown>;
  };
  const query = value.source.query.replace(/\bFROM flights\b/, `FROM ${TABLE}`);
  return parsePipelineSpec({ ...value, source: { ...value.source, query, partitions: 3 }, model: { ...value.model, epochs: 1 } }, file);
}

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
});

afterAll(async () => {
  await stack?.close();
});

test('multiclass: delay buckets train, evaluate per class, register and serve class probabilities', async () => {
  const spec = example('flights-multiclass.json');
  const result = await watchPipeline(await startTrainingPipeline(stack.client, spec, { reuseSteps: false }), false);
  const m = result.metrics;
  if (m.task !== 'multiclass') throw new Error(`multiclass metrics expected, got ${JSON.stringify(m)}`);
  expect(m.perClass.map((c) => c.class)).toEqual(['early', 'on_time', 'late']);
  expect(m.perClass.reduce((n, c) => n + c.support, 0)).toBe(m.rows);
  expect(m.microF1).toBe(m.accuracy);
  // Better than always answering the commonest class would be asking too much of one epoch; better than a uniform guess is not.
  expect(m.accuracy).toBeGreaterThan(1 / 3);
  expect(m.logLoss).toBeLessThan(Math.log(3));

  const production = await productionVersion(stack.db, 'flights_status');
  expect(production?.metrics).toEqual(JSON.parse(JSON.stringify(m)));
  const transform = await readTransform({ uri: production!.transformUri });
  expect(transform.label).toEqual({ column: 'status', task: 'multiclass', classes: ['early', 'on_time', 'late'] });
  const runs = await listRuns(stack.db, 'flights_status');
  expect(runs[0]).toMatchObject({ runId: result.runId, status: 'succeeded', metrics: { task: 'multiclass' } });

  const { instance } = await sampleFlight(stack.db, TABLE);
  const prediction = await predictOverHttp<ClassPrediction>(stack.info.serveUrl!, 'flights_status', [instance, instance]);
  const [first] = prediction.predictions;
  expect(Object.keys(first!.probabilities)).toEqual(['early', 'on_time', 'late']);
  expect(Object.values(first!.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(first!.probabilities[first!.class]).toBe(Math.max(...Object.values(first!.probabilities)));
  const meta = (await (await fetch(`${stack.info.serveUrl}/v1/models/flights_status/metadata`)).json()) as Record<string, unknown>;
  expect(meta).toMatchObject({ task: 'multiclass', classes: ['early', 'on_time', 'late'] });
});

test('regression: the clipped delay in minutes trains and is evaluated and served in minutes', async () => {
  const spec = example('flights-delay-regression.json');
  const result = await watchPipeline(await startTrainingPipeline(stack.client, spec, { reuseSteps: false }), false);
  const m = result.metrics;
  if (m.task !== 'regression') throw new Error(`regression metrics expected, got ${JSON.stringify(m)}`);
  expect(m.rows).toBeGreaterThan(5000);
  // In minutes of a delay clipped to [-30, 180]: an error of a few minutes to an hour, not of standardised units.
  expect(m.rmse).toBeGreaterThan(3);
  expect(m.rmse).toBeLessThan(80);
  expect(m.mae).toBeLessThanOrEqual(m.rmse);
  expect(m.r2).toBeGreaterThan(-0.5);
  expect(m.r2).toBeLessThan(1);

  const production = await productionVersion(stack.db, 'flights_delay_minutes');
  const transform = await readTransform({ uri: production!.transformUri });
  const label = transform.label as { task: string; mean: number; std: number };
  expect(label.task).toBe('regression');
  expect(label.std).toBeGreaterThan(1);

  const { instance } = await sampleFlight(stack.db, TABLE);
  const prediction = await predictOverHttp<number>(stack.info.serveUrl!, 'flights_delay_minutes', [instance]);
  expect(prediction.predictions[0]).toBeGreaterThan(-60);
  expect(prediction.predictions[0]).toBeLessThan(240);
  const meta = (await (await fetch(`${stack.info.serveUrl}/v1/models/flights_delay_minutes/metadata`)).json()) as Record<string, unknown>;
  expect(meta).toMatchObject({ task: 'regression', output: "predicted delay_minutes, in the column's own units" });
});
