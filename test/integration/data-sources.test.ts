import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ShardRef } from '../../contracts';
import { readShardBatches } from '../../lib/data/arrow-shards';
import { ingestPartition } from '../../lib/data/ingest-partition';
import { planPartitions } from '../../lib/data/partition-planner';
import { inspectSource, type SourceSchema } from '../../lib/data/source-schema';
import { mergeShardStatistics } from '../../lib/validation/dataset-statistics';
import { fileStoreSettings, localArtifactPath } from '../../lib/artifacts/artifact-store';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';
import { parsePipelineSpec, postgresSourceOf, ROW_HASH_COLUMN, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { openTestStack, type TestStack } from './stack';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';

/**
 * Sources other than a dense integer key: a skewed key split at quantiles, a table without a key
 * split by block ranges, a query split by a hash, a text label, and the mistakes each can hold.
 * The partitions are planned and ingested with the real SQL against the stack's PostgreSQL.
 */

let stack: TestStack;
let artifactRoot: string;

const ROWS = 20_000;
const WEATHER = ['sun', 'rain', 'snow', 'fog', 'sun', 'sun', 'rain'];

/** A spec over `source` with one numeric and one categorical feature. */
function specFor(source: Record<string, unknown>, label: Record<string, unknown> = { column: 'y', greaterThan: 0 }): PipelineSpec {
  const textLabel = label.column === 'weather';
  return parsePipelineSpec({
    name: 'it_sources',
    source: { kind: 'postgres', partitions: 4, ...source },
    label,
    features: [
      { kind: 'numeric', name: 'x', column: 'x' },
      textLabel ? { kind: 'numeric', name: 'y', column: 'y' } : { kind: 'categorical', name: 'weather', column: 'weather', topK: 10 },
    ],
    model: { type: 'logistic', epochs: 1, batchSize: 512, learningRate: 0.05 },
  });
}

async function plan(spec: PipelineSpec): Promise<{ schema: SourceSchema; partitions: Awaited<ReturnType<typeof planPartitions>> }> {
  const source = postgresSourceOf(spec);
  const schema = await inspectSource(stack.db, spec, source);
  return { schema, partitions: await planPartitions(stack.db, source, schema) };
}

/** Plans and ingests every partition; returns the shards and, per shard, the values of `column`. */
async function ingestAll(spec: PipelineSpec, column: string): Promise<{ shards: ShardRef[]; values: Array<Array<number | string | null>> }> {
  const { schema, partitions } = await plan(spec);
  const shards: ShardRef[] = [];
  const values: Array<Array<number | string | null>> = [];
  for (const partition of partitions.partitions) {
    const shard = await ingestPartition(
      { databaseUrl: stack.info.databaseUrl, artifactStore: fileStoreSettings(artifactRoot), schema, partition, batchRows: 4096 },
      () => undefined,
    );
    shards.push(shard);
    const seen: Array<number | string | null> = [];
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      const vector = batch.getChild(column)!;
      for (let i = 0; i < batch.numRows; i++) seen.push(vector.get(i) as number | string | null);
    }
    values.push(seen);
  }
  return { shards, values };
}

async function inputErrorOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    expect((err as Error).name).toBe(PIPELINE_INPUT_ERROR);
    return err as Error;
  }
  throw new Error('expected a pipeline input error');
}

beforeAll(async () => {
  stack = await openTestStack();
  artifactRoot = mkdtempSync(path.join(os.tmpdir(), 'pipewright-it-sources-'));
  const db = stack.db;
  await db.query(`DROP TABLE IF EXISTS it_src_skewed, it_src_nokey, it_src_nullkey, it_src_dupkey, it_src_empty CASCADE`);
  // Keys crowd towards zero (i^3), so equal-width key ranges would put almost every row in the first one.
  await db.query(`CREATE TABLE it_src_skewed (k bigint PRIMARY KEY, x double precision NOT NULL, weather text, y integer NOT NULL)`);
  await db.query(
    `INSERT INTO it_src_skewed SELECT (i::bigint * i * i), (i % 97) / 10.0, (ARRAY${JSON.stringify(WEATHER).replace(/"/g, "'")})[1 + i % ${WEATHER.length}], (i % 5) - 2
       FROM generate_series(1, ${ROWS}) AS i`,
  );
  // No key at all: split by heap blocks; a third of the labels are text with NULLs among them.
  await db.query(`CREATE TABLE it_src_nokey (x double precision NOT NULL, weather text, y integer NOT NULL)`);
  await db.query(
    `INSERT INTO it_src_nokey SELECT (i % 89) / 7.0, CASE WHEN i % 250 = 0 THEN NULL ELSE (ARRAY${JSON.stringify(WEATHER).replace(/"/g, "'")})[1 + (i * 3) % ${WEATHER.length}] END, (i % 3) - 1
       FROM generate_series(1, ${ROWS}) AS i`,
  );
  await db.query(`CREATE TABLE it_src_nullkey (k bigint, x double precision NOT NULL, weather text, y integer NOT NULL)`);
  await db.query(`INSERT INTO it_src_nullkey VALUES (1, 1, 'sun', 1), (NULL, 2, 'rain', 0), (3, 3, 'fog', 1)`);
  await db.query(`CREATE TABLE it_src_dupkey (k bigint, x double precision NOT NULL, weather text, y integer NOT NULL)`);
  await db.query(`INSERT INTO it_src_dupkey VALUES (1, 1, 'sun', 1), (2, 2, 'rain', 0), (2, 3, 'fog', 1), (4, 4, 'fog', 0)`);
  await db.query(`CREATE TABLE it_src_empty (k bigint PRIMARY KEY, x double precision NOT NULL, weather text, y integer NOT NULL)`);
  await db.query(`CREATE OR REPLACE VIEW it_src_view AS SELECT * FROM it_src_nokey`);
  await db.query('ANALYZE it_src_skewed; ANALYZE it_src_nokey');
});

afterAll(async () => {
  rmSync(artifactRoot, { recursive: true, force: true });
  await stack?.close();
});

describe('partitions of equal work', () => {
  test('a skewed integer key is split at its quantiles: every partition within 10 % of equal, every row once', async () => {
    const spec = specFor({ table: 'it_src_skewed', key: 'k' });
    const { shards, values } = await ingestAll(spec, 'k');
    expect(shards).toHaveLength(4);
    const sizes = shards.map((s) => s.rows);
    for (const size of sizes) expect(Math.abs(size - ROWS / 4)).toBeLessThanOrEqual(0.1 * (ROWS / 4));
    const keys = values.flat() as number[];
    expect(keys).toHaveLength(ROWS);
    expect(new Set(keys).size).toBe(ROWS);
    // Each shard is in key order, and the shards follow one another.
    const flat = values.flat() as number[];
    expect(flat).toEqual([...flat].sort((a, b) => a - b));
    const { rows } = await stack.db.query<{ n: string }>('SELECT count(*)::text AS n FROM it_src_skewed');
    expect(keys.length).toBe(Number(rows[0]!.n));
  });

  test('a table without a key is split by block ranges and identified by a hash of each row', async () => {
    const spec = specFor({ table: 'it_src_nokey' });
    const { schema, partitions } = await plan(spec);
    expect(partitions.partitions.map((p) => p.kind)).toEqual(['blockRange', 'blockRange', 'blockRange', 'blockRange']);
    expect(schema.columns[0]!.name).toBe(ROW_HASH_COLUMN);
    const { shards, values } = await ingestAll(spec, 'x');
    expect(shards.reduce((n, s) => n + s.rows, 0)).toBe(ROWS);
    for (const shard of shards) expect(Math.abs(shard.rows - ROWS / 4)).toBeLessThanOrEqual(0.1 * (ROWS / 4));
    // The multiset of values read equals the table's.
    const { rows } = await stack.db.query<{ x: number }>('SELECT x FROM it_src_nokey ORDER BY x');
    expect((values.flat() as number[]).sort((a, b) => a - b)).toEqual(rows.map((r) => r.x));
    // Reading the same blocks again gives the same bytes: the shard is content-addressed to the same URI.
    const again = await ingestAll(spec, 'x');
    expect(again.shards.map((s) => s.sha256)).toEqual(shards.map((s) => s.sha256));
  });

  test('a query is split by a hash of a column: the buckets hold every row of its result exactly once', async () => {
    const spec = specFor({ query: 'SELECT x, weather, y FROM it_src_nokey WHERE x > 1', hashColumn: 'weather', partitions: 3 });
    const { shards, values } = await ingestAll(spec, 'x');
    expect(shards).toHaveLength(3);
    const { rows } = await stack.db.query<{ x: number }>('SELECT x FROM it_src_nokey WHERE x > 1 ORDER BY x');
    expect((values.flat() as number[]).sort((a, b) => a - b)).toEqual(rows.map((r) => r.x));
  });

  test('a text label: rows whose label is NULL are quarantined with the reason, the others kept', async () => {
    const spec = specFor({ table: 'it_src_nokey' }, { column: 'weather', oneOf: ['rain', 'snow'] });
    const { shards } = await ingestAll(spec, 'weather');
    const quarantined = shards.reduce((n, s) => n + s.quarantinedRows, 0);
    expect(quarantined).toBe(ROWS / 250);
    expect(shards.reduce((n, s) => n + s.rows, 0)).toBe(ROWS - ROWS / 250);
    const files = await Promise.all(shards.filter((s) => s.quarantine).map((s) => localArtifactPath(s.quarantine!.uri)));
    const reasons = files.flatMap((file) => readFileSync(file, 'utf8').trim().split('\n')).map((line) => (JSON.parse(line) as { reason: string }).reason);
    expect(reasons).toHaveLength(ROWS / 250);
    expect(new Set(reasons)).toEqual(new Set(['"weather" is null']));
  });
});

describe('statistics gathered while ingesting', () => {
  test("the shards' statistics merge to the statistics of the whole table, as SQL computes them", async () => {
    const spec = specFor({ table: 'it_src_skewed', key: 'k' });
    const { shards } = await ingestAll(spec, 'k');
    const { statistics } = await mergeShardStatistics(fileStoreSettings(artifactRoot), shards);
    const { rows } = await stack.db.query<{ n: string; lo: number; hi: number; mean: number; variance: number }>(
      'SELECT count(*)::text AS n, min(x) AS lo, max(x) AS hi, avg(x) AS mean, var_pop(x) AS variance FROM it_src_skewed',
    );
    const sql = rows[0]!;
    expect(statistics.state.rows).toBe(Number(sql.n));
    const x = statistics.summary.columns.x!;
    if (x.kind === 'text') throw new Error('x should be numeric');
    expect([x.count, x.min, x.max]).toEqual([Number(sql.n), sql.lo, sql.hi]);
    expect(x.mean).toBeCloseTo(sql.mean, 9);
    expect(x.variance).toBeCloseTo(sql.variance, 9);
    const weather = statistics.summary.columns.weather!;
    if (weather.kind !== 'text') throw new Error('weather should be text');
    const counts = await stack.db.query<{ value: string; n: string }>('SELECT weather AS value, count(*)::text AS n FROM it_src_skewed GROUP BY weather');
    expect(Object.fromEntries(weather.topK.map((t) => [t.value, t.count]))).toEqual(Object.fromEntries(counts.rows.map((r) => [r.value, Number(r.n)])));
    // The key is the row identity, not a feature: it has no statistics.
    expect(Object.keys(statistics.summary.columns).sort()).toEqual(['weather', 'x', 'y']);
  });
});

describe('mistakes in the source get a message naming the field and the fix', () => {
  test('a NULL key', async () => {
    const err = await inputErrorOf(() => plan(specFor({ table: 'it_src_nullkey', key: 'k' })));
    expect(err.message).toMatch(/^source.key: 1 rows of it_src_nullkey have a NULL "k"/);
  });

  test('a duplicated key, with an example', async () => {
    const err = await inputErrorOf(() => plan(specFor({ table: 'it_src_dupkey', key: 'k' })));
    expect(err.message).toContain('source.key: "k" is not unique in it_src_dupkey (1 duplicate rows; k = 2 appears 2 times)');
  });

  test('an empty table', async () => {
    const err = await inputErrorOf(() => plan(specFor({ table: 'it_src_empty', key: 'k' })));
    expect(err.message).toContain('it_src_empty has no rows');
  });

  test('a missing table, a missing column and a key that is not an integer', async () => {
    expect((await inputErrorOf(() => plan(specFor({ table: 'it_src_nowhere' })))).message).toMatch(/^source.table: table "it_src_nowhere" does not exist/);
    const missing = await inputErrorOf(() => plan(specFor({ table: 'it_src_nokey' }, { column: 'delay', greaterThan: 0 })));
    expect(missing.message).toBe('label.column: column "delay" is not in it_src_nokey (it has: x, weather, y).');
    const textKey = await inputErrorOf(() => plan(specFor({ table: 'it_src_nokey', key: 'weather' })));
    expect(textKey.message).toMatch(/^source.key: column "weather" of it_src_nokey has type text; the key must be an integer column/);
  });

  test('a view without a key cannot be split by blocks', async () => {
    const err = await inputErrorOf(() => plan(specFor({ table: 'it_src_view' })));
    expect(err.message).toMatch(/^source.table: "it_src_view" is not a plain table/);
  });

  test('a query PostgreSQL refuses, and one that fails while it is read', async () => {
    const syntax = await inputErrorOf(() => plan(specFor({ query: 'SELEC x FROM it_src_nokey', hashColumn: 'weather' })));
    expect(syntax.message).toMatch(/^source.query: PostgreSQL refused the query: syntax error/);
    // Division by zero happens only when rows are read, so planning passes and ingest names it.
    const spec = specFor({ query: 'SELECT x / (y - y) AS x, weather, y FROM it_src_nokey', hashColumn: 'weather', partitions: 1 });
    const err = await inputErrorOf(() => ingestAll(spec, 'x'));
    expect(err.message).toMatch(/reading query .* failed: division by zero/);
  });

  test('a query cannot write: it runs in a read-only transaction', async () => {
    await stack.db.query('CREATE SEQUENCE IF NOT EXISTS it_src_seq');
    const before = await stack.db.query<{ n: string }>('SELECT last_value::text AS n FROM it_src_seq');
    const spec = specFor({ query: `SELECT k, x, weather, y, nextval('it_src_seq') AS n FROM it_src_skewed`, key: 'k' });
    const err = await inputErrorOf(() => plan(spec));
    expect(err.message).toMatch(/cannot execute nextval\(\) in a read-only transaction/);
    const after = await stack.db.query<{ n: string }>('SELECT last_value::text AS n FROM it_src_seq');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

describe('a pipeline over a table without a key and a text label', () => {
  test('runs end to end on the real stack', async () => {
    const spec = specFor({ table: 'it_src_nokey', partitions: 2 }, { column: 'weather', oneOf: ['rain'] });
    const handle = await startTrainingPipeline(stack.client, spec);
    const result = await watchPipeline(handle, false);
    expect(result.rows).toBe(ROWS - ROWS / 250);
    expect(result.quarantinedRows).toBe(ROWS / 250);
    // rain is 2 of the 7 values: the evaluated positive rate is near 2/7.
    expect(binaryMetricsOf(result.metrics).positiveRate).toBeGreaterThan(0.2);
    expect(binaryMetricsOf(result.metrics).positiveRate).toBeLessThan(0.37);
    expect(result.model.version).toBeGreaterThanOrEqual(1);
  });
});
