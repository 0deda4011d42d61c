import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { predictOverHttp, sampleFlight } from '../../scripts/client/predict';
import { progressQuery, type TrainModelResult } from '../../contracts';
import { openTestStack, type TestStack } from './stack';

/**
 * examples/flights-wide-deep.json end to end on 50k flights: a wide-and-deep model with embeddings,
 * a validation split scored every epoch, a cosine learning-rate schedule, early stopping, two
 * workers averaging twice an epoch; then served.
 */
const TABLE = 'flights_50000';
let stack: TestStack;

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
});

afterAll(async () => {
  await stack?.close();
});

test('a wide-and-deep model trains with validation and early stopping, evaluates and serves', async () => {
  const example = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights-wide-deep.json'), 'utf8')) as Record<string, unknown>;
  const spec = parsePipelineSpec({ ...example, source: { kind: 'postgres', table: TABLE, key: 'id', partitions: 3 } });
  const handle = await startTrainingPipeline(stack.client, spec, { reuseSteps: false });
  const result = await watchPipeline(handle, false);

  expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.6);
  const progress = await handle.query(progressQuery);
  const trained = progress.stages.train.done;
  expect(trained).toBeGreaterThanOrEqual(1);
  // A validation loss for every epoch trained, and the headline metric of the last.
  expect(progress.validationLoss).toHaveLength(progress.trainLoss!.length);
  for (const loss of progress.validationLoss!) expect(loss).toBeGreaterThan(0);
  expect(progress.validationMetric?.name).toBe('auc');
  expect(progress.training).toMatchObject({ rounds: 2, workers: 2 });

  // The training child's own result: the epochs trained (fewer than six when early stopping fired).
  const child = (await stack.client.workflow.getHandle(`${handle.workflowId}-train`).result()) as TrainModelResult;
  expect(child.validationLosses).toEqual(progress.validationLoss);
  if (child.stoppedAfterEpochs !== undefined) expect(child.stoppedAfterEpochs).toBeLessThan(6);
  else expect(child.losses).toHaveLength(6);

  const flight = await sampleFlight(stack.db, TABLE);
  const served = await predictOverHttp(stack.info.serveUrl!, 'flights_wide_deep', [flight.instance]);
  expect(served.predictions).toHaveLength(1);
  expect(served.predictions[0]).toBeGreaterThan(0);
  expect(served.predictions[0]).toBeLessThan(1);
});
