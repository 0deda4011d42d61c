import { Pool } from 'pg';
import {
  PredictionLog,
  readLoggedPredictions,
  recordFeedback,
  type PredictionLogPool,
  type PredictionLogRecord,
  type ServingRole,
} from '../../lib/serving/prediction-log';
import { openTestStack, type TestStack } from './stack';

/**
 * Prediction logging on the stack's PostgreSQL (tables from migration 6, run at `pipewright up`):
 * thousands of rows written in batches and read back with their feedback labels, values JSON cannot
 * carry stored without losing their batch, and the bound holding while the database is slow or down.
 * Each test logs under its own model name, so tests and reruns never see each other's rows.
 */

let stack: TestStack;
const RUN = `${Date.now().toString(36)}_${process.pid}`;
const modelName = (what: string): string => `it_predlog_${what}_${RUN}`;

beforeAll(async () => {
  stack = await openTestStack();
});
afterAll(async () => {
  await stack?.close();
});

function record(model: string, requestId: string, rows: number, over: Partial<PredictionLogRecord> = {}): PredictionLogRecord {
  return {
    requestId,
    model,
    version: 2,
    role: 'production',
    instances: Array.from({ length: rows }, (_, i) => ({ distance: 100 + i, origin: i % 2 ? 'SFO' : 'ATL', date: '2001-07-01T00:00:00' })),
    predictions: Array.from({ length: rows }, (_, i) => ({ class: i % 2, probabilities: [0.25, 0.75] })),
    latencyMs: 3.5,
    ...over,
  };
}

/** A query that waits until the test opens the gate, then runs on the real pool. */
function gatedPool(db: Pool): { pool: PredictionLogPool; open: () => void; calls: () => number } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let calls = 0;
  const query = async (text: string, values: unknown[]): Promise<unknown> => {
    calls += 1;
    await opened;
    return db.query(text, values);
  };
  return { pool: { query } as unknown as PredictionLogPool, open, calls: () => calls };
}

test('thousands of rows from several records are written in batches and read back, with feedback labels', async () => {
  const model = modelName('bulk');
  const log = new PredictionLog(stack.db, { flushRows: 1_000 });
  const t0 = new Date('2031-03-01T12:00:00Z');
  const roles: ServingRole[] = ['production', 'production', 'canary', 'shadow'];
  // 12 records × 250 rows = 3,000 rows, one minute apart, so windows can be checked exactly.
  for (let i = 0; i < 12; i++) {
    log.log(record(model, `${model}-req-${i}`, 250, { role: roles[i % 4]!, version: i % 4 === 3 ? 3 : 2, at: new Date(t0.getTime() + i * 60_000) }));
  }
  await log.flush();
  expect(log.stats()).toEqual({ logged: 3_000, dropped: 0, queued: 0, failedFlushes: 0 });

  const all = await readLoggedPredictions(stack.db, { model });
  expect(all).toHaveLength(3_000);
  expect(all[0]).toEqual({
    requestId: `${model}-req-0`,
    row: 0,
    version: 2,
    role: 'production',
    at: t0,
    features: { distance: 100, origin: 'ATL', date: '2001-07-01T00:00:00' },
    prediction: { class: 0, probabilities: [0.25, 0.75] },
    latencyMs: 3.5,
  });
  expect(all[3_000 - 1]).toMatchObject({ requestId: `${model}-req-11`, row: 249, version: 3, role: 'shadow', features: { distance: 349 } });
  expect(all.every((r) => r.label === undefined && !('label' in r))).toBe(true);

  const shadow = await readLoggedPredictions(stack.db, { model, role: 'shadow' });
  expect(shadow).toHaveLength(750);
  expect(new Set(shadow.map((r) => r.version))).toEqual(new Set([3]));
  // since inclusive, until exclusive: minutes 2, 3 and 4.
  const window = await readLoggedPredictions(stack.db, { model, since: new Date(t0.getTime() + 2 * 60_000), until: new Date(t0.getTime() + 5 * 60_000) });
  expect(new Set(window.map((r) => r.requestId))).toEqual(new Set([2, 3, 4].map((i) => `${model}-req-${i}`)));
  expect(await readLoggedPredictions(stack.db, { model, limit: 10 })).toHaveLength(10);

  // Feedback: the same labels twice are one row each; a later label wins; rows without predictions are kept, unmatched.
  const requestId = `${model}-req-1`;
  const labels = [
    { row: 0, label: 1 },
    { row: 1, label: 0 },
    { row: 7, label: { delay: 33 } },
  ];
  expect(await recordFeedback(stack.db, { requestId, labels })).toEqual({ recorded: 3, matched: 3 });
  expect(await recordFeedback(stack.db, { requestId, labels })).toEqual({ recorded: 3, matched: 3 });
  expect(await recordFeedback(stack.db, { requestId, labels: [{ row: 1, label: 1 }], model })).toEqual({ recorded: 1, matched: 1 });
  expect(await recordFeedback(stack.db, { requestId, labels: [{ row: 900, label: 1 }] })).toEqual({ recorded: 1, matched: 0 });
  expect(await recordFeedback(stack.db, { requestId: `${model}-nobody`, labels: [{ row: 0, label: 1 }] })).toEqual({ recorded: 1, matched: 0 });
  expect(await recordFeedback(stack.db, { requestId, labels: [{ row: 2, label: null }], model: modelName('other') })).toEqual({ recorded: 1, matched: 0 });
  const { rows: stored } = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pipewright_feedback WHERE request_id = $1', [requestId]);
  expect(stored[0]!.n).toBe(5);

  const labelled = (await readLoggedPredictions(stack.db, { model })).filter((r) => r.requestId === requestId && 'label' in r);
  // Row 2's label was given for another model, so it does not join here.
  expect(labelled.map((r) => [r.row, r.label])).toEqual([
    [0, 1],
    [1, 1],
    [7, { delay: 33 }],
  ]);
  await log.close();
});

test('values JSON cannot carry are stored without losing their batch', async () => {
  const model = modelName('weird');
  const log = new PredictionLog(stack.db);
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  log.log(record(model, `${model}-ok-1`, 2));
  log.log(
    record(model, `${model}-weird\u0000id`, 4, {
      instances: [{ nan: NaN, inf: -Infinity, big: 2n ** 70n }, cyclic, { text: 'nul\u0000 and lone \uD800 surrogate', '\u0000': 1 }, {}],
      predictions: [NaN, 10n, { probabilities: [Infinity, 0.5] }],
      latencyMs: 1e300,
    }),
  );
  log.log(record(model, `${model}-ok-2`, 2));
  await log.flush();
  expect(log.stats()).toEqual({ logged: 8, dropped: 0, queued: 0, failedFlushes: 0 });

  const rows = await readLoggedPredictions(stack.db, { model });
  const weird = rows.filter((r) => r.requestId === `${model}-weird\uFFFDid`);
  expect(weird.map((r) => r.features)).toEqual([
    { nan: null, inf: null, big: '1180591620717411303424' },
    { name: 'loop', self: '[Circular]' },
    { text: 'nul\uFFFD and lone \uFFFD surrogate', '\uFFFD': 1 },
    {},
  ]);
  expect(weird.map((r) => r.prediction)).toEqual([null, '10', { probabilities: [null, 0.5] }, null]);
  expect(weird[0]!.latencyMs).toBe(Infinity);
  expect(rows.filter((r) => r.requestId.startsWith(`${model}-ok`))).toHaveLength(4);
  await log.close();
});

test('while the database is slow, the queue stays bounded, log() returns at once, and rows beyond the bound are counted as dropped', async () => {
  const model = modelName('slow');
  const gated = gatedPool(stack.db);
  const drops: Array<[number, string]> = [];
  const log = new PredictionLog(gated.pool, { maxQueuedRows: 50, flushRows: 10, flushIntervalMs: 5, onDrop: (rows, reason) => drops.push([rows, reason]) });

  // 100 predictions of 5 rows each, logged while no query can finish: each log() returns synchronously
  // (the loop below has no await), so none of them waited for the database.
  for (let i = 0; i < 100; i++) expect(log.log(record(model, `${model}-req-${i}`, 5))).toBeUndefined();
  expect(log.stats()).toEqual({ logged: 0, dropped: 450, queued: 50, failedFlushes: 0 });
  expect(drops[0]).toEqual([5, 'queue full']);

  // Let the timer start a flush that hangs on the gate; more predictions are still dropped, not waited for.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(gated.calls()).toBe(1);
  for (let i = 100; i < 110; i++) log.log(record(model, `${model}-req-${i}`, 5));
  expect(log.stats()).toMatchObject({ logged: 0, dropped: 500, queued: 50 });

  gated.open();
  await log.flush();
  expect(log.stats()).toEqual({ logged: 50, dropped: 500, queued: 0, failedFlushes: 0 });
  const rows = await readLoggedPredictions(stack.db, { model });
  expect(new Set(rows.map((r) => r.requestId))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `${model}-req-${i}`)));
  await log.close();
});

test('with the database unreachable, flushes fail and drop their rows; once it is back, the same log writes again', async () => {
  const model = modelName('down');
  // A port nothing listens on: connections are refused, as when PostgreSQL is down.
  const dead = new Pool({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2_000 });
  dead.on('error', () => undefined);
  let target: Pool = dead;
  const switching = { query: (text: string, values: unknown[]) => target.query(text, values) } as unknown as PredictionLogPool;
  const log = new PredictionLog(switching);
  try {
    log.log(record(model, `${model}-lost`, 3));
    await log.flush();
    const down = log.stats();
    expect(down).toMatchObject({ logged: 0, dropped: 3, queued: 0, failedFlushes: 1 });
    expect(down.lastError).toMatch(/ECONNREFUSED|connect/);

    target = stack.db;
    log.log(record(model, `${model}-kept`, 2));
    await log.flush();
    expect(log.stats()).toMatchObject({ logged: 2, dropped: 3, failedFlushes: 1 });
    expect((await readLoggedPredictions(stack.db, { model })).map((r) => r.requestId)).toEqual([`${model}-kept`, `${model}-kept`]);
  } finally {
    await log.close();
    await dead.end();
  }
});
