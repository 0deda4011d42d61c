import { readTransform, type FittedFeature, type FittedTransformV2 } from '../../lib/features/transform';
import { productionVersion } from '../../lib/registry/model-registry';
import { parsePipelineSpec, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { predictOverHttp } from '../../scripts/client/predict';
import type { TrainingPipelineResult } from '../../contracts';
import { openTestStack, type TestStack } from './stack';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';

/**
 * The feature transforms end to end on the real stack: a table with a numeric column full of NULLs
 * (imputed, not quarantined), every new feature kind fitted on the train split and applied to every
 * shard, a model trained on them, and a raw instance predicted through the model server with the
 * same fitted transform.
 */

const TABLE = 'it_transforms';
const ROWS = 20_000;

let stack: TestStack;
let result: TrainingPipelineResult;
let transform: FittedTransformV2;

function spec(): PipelineSpec {
  return parsePipelineSpec({
    name: 'it_transforms',
    source: { kind: 'postgres', table: TABLE, key: 'id', partitions: 3 },
    label: { column: 'late', greaterThan: 0 },
    features: [
      { kind: 'numeric', name: 'amount', column: 'amount', impute: 'median', clip: { min: 0 }, log1p: true },
      { kind: 'numeric', name: 'dist', column: 'dist', scale: 'minMax', clip: { max: 2500 } },
      { kind: 'quantileBuckets', name: 'dist_q', column: 'dist', buckets: 8 },
      { kind: 'categorical', name: 'origin', column: 'origin', topK: 20, minCount: 100 },
      { kind: 'hashed', name: 'tail', column: 'tail', buckets: 64 },
      { kind: 'cross', name: 'route', columns: ['origin', 'dest'], buckets: 128 },
      { kind: 'timestamp', name: 'calendar', column: 'ts', parts: ['weekday', 'month', 'dayOfMonth'] },
      { kind: 'timestamp', name: 'clock', column: 'ts', parts: ['hour'], cyclical: true },
      { kind: 'hourOfDay', name: 'hour', column: 'ts' },
    ],
    split: { testFraction: 0.2, seed: 11 },
    model: { type: 'mlp', hidden: [16], epochs: 2, batchSize: 1024, learningRate: 0.01, seed: 3 },
  });
}

beforeAll(async () => {
  stack = await openTestStack();
  await stack.db.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await stack.db.query(
    `CREATE TABLE ${TABLE} (id bigint PRIMARY KEY, ts timestamp NOT NULL, amount double precision, dist integer NOT NULL,
       origin text NOT NULL, dest text NOT NULL, tail text NOT NULL, late integer NOT NULL)`,
  );
  // Deterministic rows: one in ten has no amount; lateness depends on the hour, the distance and the origin.
  await stack.db.query(
    `INSERT INTO ${TABLE}
     SELECT i,
            timestamp '2003-01-01' + (i * 7919 % 525600) * interval '1 minute',
            CASE WHEN i % 10 = 3 THEN NULL ELSE (i * 37 % 1000) / 4.0 END,
            100 + (i * 53 % 2900),
            (ARRAY['ATL','ORD','DFW','DEN','LAX','SFO','BOS','JFK'])[1 + i * 13 % 8],
            (ARRAY['ATL','ORD','DFW','DEN','LAX','SFO','BOS','JFK'])[1 + i * 29 % 8],
            'N' || (i * 101 % 3000),
            CASE WHEN ((i * 7919 % 525600) / 60) % 24 >= 17 OR (i * 13 % 8) = 2 OR 100 + (i * 53 % 2900) > 2500 THEN 1 ELSE 0 END
       FROM generate_series(1, ${ROWS}) AS i`,
  );
  result = await watchPipeline(await startTrainingPipeline(stack.client, spec()), false);
  const production = await productionVersion(stack.db, 'it_transforms');
  transform = await readTransform({ uri: production!.transformUri });
});

afterAll(async () => {
  await stack?.close();
});

const feature = (name: string): FittedFeature => transform.features.find((f) => f.name === name)!;

test('NULL amounts are imputed, not quarantined, and every row is trained or evaluated on', async () => {
  expect(result.rows).toBe(ROWS);
  expect(result.quarantinedRows).toBe(0);
  expect(result.metrics.rows).toBeGreaterThan(0.15 * ROWS);
  expect(result.metrics.rows).toBeLessThan(0.25 * ROWS);
  // The imputed value is the train split's median amount: a value of the column.
  const amount = feature('amount');
  if (amount.kind !== 'numeric') throw new Error('expected a numeric feature');
  expect(amount.impute?.strategy).toBe('median');
  const { rows } = await stack.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${TABLE} WHERE amount = $1`, [amount.impute!.value]);
  expect(Number(rows[0]!.n)).toBeGreaterThan(0);
});

test('the model learns from the encoded features', () => {
  expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.7);
});

test('the fitted transform is v2 with every kind laid out one after another', () => {
  expect(transform.format).toBe('pipewright.transform/v2');
  expect(transform.features.map((f) => f.kind)).toEqual([
    'numeric',
    'numeric',
    'quantileBuckets',
    'categorical',
    'hashed',
    'cross',
    'timestamp',
    'timestamp',
    'hourOfDay',
  ]);
  let offset = 0;
  for (const f of transform.features) {
    expect(f.offset).toBe(offset);
    offset += f.width;
  }
  expect(transform.inputDim).toBe(offset);
  // 8 buckets of a near-uniform distance: 7 distinct boundaries.
  expect(feature('dist_q')).toMatchObject({ width: 8 });
  expect(feature('clock')).toMatchObject({ width: 2, cyclical: true });
});

describe('the model server, with the same fitted transform', () => {
  const raw = { amount: 120.5, dist: 900, origin: 'DFW', dest: 'BOS', tail: 'N42', ts: '2003-06-15 18:30' };

  test('predicts a raw instance, and imputes a left-out amount as training did', async () => {
    const { amount: _amount, ...withoutAmount } = raw;
    const imputed = (feature('amount') as Extract<FittedFeature, { kind: 'numeric' }>).impute!.value;
    const result = await predictOverHttp(stack.info.serveUrl!, 'it_transforms', [raw, withoutAmount, { ...raw, amount: imputed }]);
    expect(result.predictions).toHaveLength(3);
    for (const p of result.predictions) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }
    expect(result.predictions[1]).toBe(result.predictions[2]);
  });

  test('answers 400 naming the field for a missing or ill-typed value of a new kind', async () => {
    const post = async (instance: unknown): Promise<{ status: number; error: string }> => {
      const res = await fetch(`${stack.info.serveUrl}/v1/models/it_transforms:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [instance] }),
      });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error ?? '' };
    };
    const { dest: _dest, ...noDest } = raw;
    expect(await post(noDest)).toEqual({ status: 400, error: 'instances[0].dest is missing' });
    expect(await post({ ...raw, tail: 42 })).toEqual({ status: 400, error: 'instances[0].tail must be a string, got 42' });
    expect(await post({ ...raw, dist: 'far' })).toEqual({ status: 400, error: 'instances[0].dist must be a number, got "far"' });
    expect(await post({ ...raw, ts: 'soon' })).toEqual({
      status: 400,
      error: 'instances[0].ts must be an ISO-8601 date-time (e.g. "2001-01-14 21:55") or epoch milliseconds, got "soon"',
    });
    // Below the clip, an amount is lifted to 0 before log1p, as in training: no error.
    expect((await post({ ...raw, amount: -3 })).status).toBe(200);
  });
});
