import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { openTestStack, type TestStack } from './stack';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';

/**
 * Files as sources, end to end on the real stack: a CSV read by byte ranges and a glob of Parquet
 * files read by row groups, straight into shards; and the README's path for a new user: load a CSV
 * with `pipewright load`, then `pipewright run` a spec over the table.
 */

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const ROWS = 12_000;
const CITIES = ['oslo', 'lima', 'pune', 'kyiv', 'quito'];

let stack: TestStack;
let dir: string;

/** Row i of the synthetic trips: the fare grows with distance, and late trips cost more. */
function trip(i: number): { id: number; distance: number; city: string; at: string; fare: number } {
  const distance = 1 + ((i * 37) % 200) / 10;
  const hour = i % 24;
  return {
    id: i,
    distance,
    city: CITIES[i % CITIES.length]!,
    at: `2024-03-${String(1 + (i % 28)).padStart(2, '0')} ${String(hour).padStart(2, '0')}:15:00`,
    fare: 2 * distance + (hour >= 20 ? 15 : 0) + (i % 5),
  };
}

function specFor(name: string, source: Record<string, unknown>): PipelineSpec {
  return parsePipelineSpec({
    name,
    source,
    label: { column: 'fare', greaterThan: 25 },
    features: [
      { kind: 'numeric', name: 'distance', column: 'distance' },
      { kind: 'categorical', name: 'city', column: 'city', topK: 10 },
      { kind: 'hourOfDay', name: 'hour', column: 'at' },
    ],
    model: { type: 'logistic', epochs: 2, batchSize: 512, learningRate: 0.05 },
  });
}

beforeAll(async () => {
  stack = await openTestStack();
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-it-files-'));
  const lines = ['id,distance,city,at,fare'];
  for (let i = 0; i < ROWS; i++) {
    const t = trip(i);
    lines.push(`${t.id},${t.distance},${t.city},${t.at},${t.fare}`);
  }
  writeFileSync(path.join(dir, 'trips.csv'), `${lines.join('\n')}\n`);
  // The same trips as two Parquet files of several row groups each.
  const parquetWasm = await import('parquet-wasm/node');
  const props = new parquetWasm.WriterPropertiesBuilder().setMaxRowGroupSize(2500).build();
  for (const [part, from] of [
    [0, 0],
    [1, ROWS / 2],
  ] as const) {
    const trips = Array.from({ length: ROWS / 2 }, (_, k) => trip(from + k));
    const table = tableFromArrays({
      id: Int32Array.from(trips, (t) => t.id),
      distance: Float64Array.from(trips, (t) => t.distance),
      city: trips.map((t) => t.city),
      at: trips.map((t) => new Date(`${t.at.replace(' ', 'T')}Z`)),
      fare: Float64Array.from(trips, (t) => t.fare),
    });
    writeFileSync(path.join(dir, `trips-${part}.parquet`), parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream')), props));
  }
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await stack?.close();
});

describe('file sources', () => {
  test('a CSV file, read in parallel byte ranges, trains and evaluates', async () => {
    const handle = await startTrainingPipeline(stack.client, specFor('it_csv_trips', { kind: 'csv', path: path.join(dir, 'trips.csv'), partitions: 3 }));
    const result = await watchPipeline(handle, false);
    expect(result.rows).toBe(ROWS);
    expect(result.quarantinedRows).toBe(0);
    expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.7);
    const history = await handle.fetchHistory();
    const ingests = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ingestPartition');
    expect(ingests).toHaveLength(3);
  });

  test('a glob of Parquet files, read by row groups, gives the same rows, keyed by an id column', async () => {
    const result = await watchPipeline(
      await startTrainingPipeline(
        stack.client,
        specFor('it_parquet_trips', { kind: 'parquet', path: path.join(dir, 'trips-*.parquet'), key: 'id', partitions: 4 }),
      ),
      false,
    );
    expect(result.rows).toBe(ROWS);
    expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.7);
  });

  test('a glob that matches nothing fails the run once, naming the pattern', async () => {
    const spec = specFor('it_csv_none', { kind: 'csv', path: path.join(dir, 'none-*.csv') });
    await expect(watchPipeline(await startTrainingPipeline(stack.client, spec), false)).rejects.toThrow(
      /ingest: source.path: the glob ".*none-\*\.csv" matches no file/,
    );
  });
});

describe("the README's path for your own CSV", () => {
  test('pipewright load, then pipewright run on the table, then pipewright report', async () => {
    const env = { ...process.env, ...stack.env };
    await stack.db.query('DROP TABLE IF EXISTS it_readme_trips');
    await stack.db.query('DELETE FROM pipewright_sources WHERE table_name = $1', ['it_readme_trips']);
    const load = await execFileAsync(process.execPath, [CLI, 'load', path.join(dir, 'trips.csv'), '--table', 'it_readme_trips'], { env });
    expect(load.stdout).toMatch(/12,?000 rows/);
    const specFile = path.join(dir, 'trips.json');
    writeFileSync(specFile, JSON.stringify({ ...specFor('it_readme_trips', { kind: 'postgres', table: 'it_readme_trips', key: 'id' }) }));
    const run = await execFileAsync(process.execPath, [CLI, 'run', specFile], { env });
    expect(run.stdout).toMatch(/Run (it_readme_trips-\S+) succeeded/);
    const runId = /Run (it_readme_trips-\S+) succeeded/.exec(run.stdout)![1]!;
    const report = await execFileAsync(process.execPath, [CLI, 'report', runId], { env });
    expect(report.stdout).toContain('Statistics of 12,000 rows');
  });
});
