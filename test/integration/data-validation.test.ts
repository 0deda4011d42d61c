import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { datasetOfRun, pipelineSchema } from '../../lib/registry/dataset-registry';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { openTestStack, type TestStack } from './stack';

/**
 * Statistics, schema and drift on the real stack: the first run of a pipeline infers its schema,
 * later runs are checked against it and against the last dataset that passed, warnings let a run go
 * on, errors stop it, and `pipewright report` / `pipewright schema` show and accept what was found.
 */

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const PIPELINE = 'it_validation';
const ROWS = 5_000;

let stack: TestStack;

function specFor(table: string, overrides: Record<string, unknown> = {}): PipelineSpec {
  return parsePipelineSpec({
    name: PIPELINE,
    source: { kind: 'postgres', table, key: 'id', partitions: 2 },
    label: { column: 'y', greaterThan: 0 },
    features: [
      { kind: 'numeric', name: 'x', column: 'x' },
      { kind: 'categorical', name: 'city', column: 'city', topK: 10 },
    ],
    model: { type: 'logistic', epochs: 1, batchSize: 512, learningRate: 0.05 },
    ...overrides,
  });
}

/** A table of ROWS rows: x spread around `shift`, and cities drawn from `cities` in turn. */
async function createTable(table: string, shift: number, cities: string[]): Promise<void> {
  await stack.db.query(`DROP TABLE IF EXISTS ${table}`);
  await stack.db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, x double precision NOT NULL, city text, y integer NOT NULL)`);
  await stack.db.query(
    `INSERT INTO ${table} SELECT i, ${shift} + (i % 101) / 10.0, ($1::text[])[1 + i % ${cities.length}], (i % 3) - 1 FROM generate_series(1, ${ROWS}) AS i`,
    [cities],
  );
}

async function cli(...args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.env } });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout + e.stderr, code: e.code };
  }
}

async function failureOf(spec: PipelineSpec): Promise<{ workflowId: string; message: string }> {
  const handle = await startTrainingPipeline(stack.client, spec);
  try {
    await watchPipeline(handle, false);
  } catch (err) {
    // watchPipeline rethrows the workflow's failure with the root cause's message.
    expect((err as Error).cause).toBeInstanceOf(WorkflowFailedError);
    return { workflowId: handle.workflowId, message: (err as Error).message };
  }
  throw new Error('expected the run to fail');
}

beforeAll(async () => {
  stack = await openTestStack();
  await stack.db.query('DELETE FROM pipewright_schemas WHERE pipeline = $1', [PIPELINE]);
  await stack.db.query('DELETE FROM pipewright_datasets WHERE pipeline = $1', [PIPELINE]);
  await createTable('it_val_base', 0, ['oslo', 'lima', 'pune', 'kyiv']);
  // x moved by 5 (its whole spread), and a third of the rows from a city the schema never saw.
  await createTable('it_val_drift', 5, ['oslo', 'lima', 'atlantis']);
});

afterAll(async () => {
  await stack?.close();
});

describe('data validation across runs of one pipeline', () => {
  let firstRun: string;

  test('the first run infers and stores the schema, passes, and its report prints statistics', async () => {
    const handle = await startTrainingPipeline(stack.client, specFor('it_val_base'));
    firstRun = handle.workflowId;
    const result = await watchPipeline(handle, false);
    expect(result.validationWarnings).toBe(0);
    const schema = await pipelineSchema<{ columns: Array<{ name: string }> }>(stack.db, PIPELINE);
    expect(schema?.runId).toBe(firstRun);
    expect(schema!.schema.columns.map((c) => c.name).sort()).toEqual(['city', 'x', 'y']);
    const report = await cli('report', firstRun);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('Statistics of 5,000 rows');
    expect(report.stdout).toMatch(/Data validation PASSED: 0 errors, 0 warnings/);
    // The city column's top values with their shares: four cities in turn, a quarter each.
    expect(report.stdout).toMatch(/city\s+5,000\s+0%\s+4\s+"\w+" 25\.0%/);
  });

  test('drifted data passes with warnings that name the columns, and the report shows the drift', async () => {
    const handle = await startTrainingPipeline(stack.client, specFor('it_val_drift'));
    const result = await watchPipeline(handle, false);
    expect(result.validationWarnings).toBeGreaterThanOrEqual(2);
    const dataset = await datasetOfRun(stack.db, handle.workflowId);
    expect(dataset?.passed).toBe(true);
    const report = await cli('report', handle.workflowId);
    expect(report.stdout).toMatch(/Data validation PASSED with warnings/);
    expect(report.stdout).toMatch(/city\s+unseen_categories/);
    expect(report.stdout).toContain('atlantis');
    expect(report.stdout).toMatch(/x\s+Jensen-Shannon\s+\S+\s+0\.1000\s+DRIFTED/);
  });

  test('drift set to error stops the run with a non-retryable failure naming the column and the way to accept it', async () => {
    // The drifted dataset passed (with warnings), so it is now the baseline: the base table drifts from it.
    const { workflowId, message } = await failureOf(specFor('it_val_base', { validation: { drift: { severity: 'error' } } }));
    expect(message).toMatch(/Data validation failed with \d+ errors?/);
    expect(message).toMatch(/\[drift x\]/);
    expect(message).toContain(`pipewright schema ${PIPELINE} --accept ${workflowId}`);
    expect((await datasetOfRun(stack.db, workflowId))?.passed).toBe(false);
  });

  test('a column the schema has but the data lacks is an error until the new shape is accepted', async () => {
    const withoutCity = specFor('it_val_base', { features: [{ kind: 'numeric', name: 'x', column: 'x' }] });
    const { workflowId, message } = await failureOf(withoutCity);
    expect(message).toMatch(/\[missing_column city\]/);
    const accepted = await cli('schema', PIPELINE, '--accept', workflowId);
    expect(accepted.code).toBe(0);
    expect((await pipelineSchema(stack.db, PIPELINE))?.runId).toBe(workflowId);
    const result = await watchPipeline(await startTrainingPipeline(stack.client, withoutCity), false);
    expect(result.rows).toBe(ROWS);
  });
});
