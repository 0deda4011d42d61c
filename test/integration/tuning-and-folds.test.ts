import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { openTestStack, type TestStack } from './stack';

/**
 * examples/flights-tuned.json end to end on the real stack: an ASHA search whose trials are
 * child workflows on the gpu pool, 3-fold cross-validation beside it, and the best trial's model
 * evaluated, blessed and deployed. A smaller table and fewer trials keep it short.
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

test('an ASHA search and 3-fold cross-validation: the best trial goes on, the folds give mean and spread', async () => {
  const example = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights-tuned.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  const spec = parsePipelineSpec({
    ...example,
    name: 'it_tuned',
    source: { ...example.source, table: TABLE, partitions: 3 },
    tuning: { ...example.tuning, trials: 4 },
    evaluation: { ...example.evaluation, importance: { repeats: 1, maxRows: 2000 } },
  });
  const result = await watchPipeline(await startTrainingPipeline(stack.client, spec, { reuseSteps: false }), false);

  const search = result.search!;
  expect(search.trials).toHaveLength(4);
  expect(search.trials.every((t) => ['completed', 'stopped'].includes(t.status))).toBe(true);
  expect(search.metric).toEqual({ name: 'auc', higherIsBetter: true });
  const completed = search.trials.filter((t) => t.status === 'completed');
  expect(completed.length).toBeGreaterThan(0);
  // The best trial is the completed one with the highest validation AUC, and its model is the one evaluated.
  expect(search.best.metric).toBe(Math.max(...completed.map((t) => t.metric!)));
  expect(result.model.version).toBeGreaterThan(0);
  const trial = await stack.client.workflow.getHandle(search.trials[0]!.workflowId).describe();
  expect(trial.memo).toMatchObject({ trial: search.trials[0]!.trial });

  const cv = result.crossValidation!;
  expect(cv.folds).toBe(3);
  expect(cv.stratified).toBe(true);
  expect(cv.perFold).toHaveLength(3);
  const auc = cv.metrics.auc!;
  expect(auc.values).toHaveLength(3);
  expect(auc.mean).toBeCloseTo(auc.values.reduce((a, b) => a + b, 0) / 3, 12);
  expect(auc.mean).toBeGreaterThan(0.55);
  // The folds partition the train rows: together they hold each of them once.
  const foldRows = cv.perFold.reduce((n, m) => n + m.rows, 0);
  expect(foldRows).toBeGreaterThan(result.metrics.rows * 2);
  expect(result.blessing?.blessed).toBe(true);
  expect(result.deployed).toBe(true);
});
