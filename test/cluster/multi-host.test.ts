import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flightsSpec } from '../integration/stack';
import { GiveUp, MultiHostStack, waitUntil, type PendingActivity, type PoolProcess } from './multi-host-stack';

/**
 * Pools on several hosts, one cut off mid-run (GitHub issue 15, item 4). Three hosts are network
 * namespaces on this machine, joined by a bridge in a namespace of its own (network-hosts.ts):
 * `services` runs `pipewright up --cluster --pools none` on its own address (PIPEWRIGHT_BIND_HOST):
 * the full Temporal server, PostgreSQL, the S3 server, the model server and the codec server;
 * `pool-a` and `pool-b` run the five pool processes each, with their own homes and artifact caches,
 * and every payload is encrypted. The flights pipeline runs once with pools on pool-a only, then
 * with pools on both hosts; in that run pool-b's link goes down while it trains one of the two
 * data-parallel workers' shares. Its attempt times out on the heartbeat (30 s), pool-a resumes it
 * from the checkpoint in its last heartbeat, and the run registers a model whose bytes are those
 * of the one-host run.
 *
 * Needs root (namespaces) and the cluster's binaries, like the rest of `npm run test:cluster`.
 */
const TABLE = 'mh_flight_rows';
const MODEL = 'flights_multihost';
// A tag and subnet of this run's own, so that two runs (or a leftover of a killed one) do not clash.
const TAG = `mh${process.pid % 1000}`;
const OCTET = 200 + (process.pid % 50);

let dir: string;
let stack: MultiHostStack | undefined;
const one: { workflowId?: string; modelSha256?: string; version?: number } = {};

/** Small batches and 100k rows, so that one worker's share of an epoch trains for a few seconds. */
const spec = flightsSpec(TABLE, {
  name: MODEL,
  model: { type: 'mlp', hidden: [64, 32], epochs: 2, batchSize: 32, learningRate: 0.005, seed: 7, parallelism: { workers: 2 } },
});

/** Runs `body`; a failure carries the tails of every process's log. */
async function withLogs<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const message = `${(err as Error).message}\n\nlogs (in ${dir}):\n${stack?.logTails() ?? '(no stack)'}`;
    throw Object.assign(new Error(message, { cause: err }), { stack: `${message}\n${(err as Error).stack ?? ''}` });
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-multi-host-'));
  stack = MultiHostStack.create({
    dir,
    tag: TAG,
    octet: OCTET,
    poolHosts: ['pool-a', 'pool-b'],
    // Each host has ports of its own (a namespace each); these stay clear of the other test stacks anyway.
    ports: { temporal: 31233, ui: 38233, postgres: 35433, serve: 38501, s3: 39400 },
    table: TABLE,
    rows: 100_000,
    log: (line) => console.log(`[multi-host] ${line}`),
  });
  await withLogs(() => stack!.start());
}, 10 * 60_000);

afterAll(async () => {
  await stack?.close();
  if (!process.env.PIPEWRIGHT_IT_KEEP) rmSync(dir, { recursive: true, force: true });
}, 120_000);

test('the services host listens on its own address and hands it to the pools', async () => {
  const s = stack!;
  const ip = s.services.address;
  expect(s.info.temporalAddress).toBe(`${ip}:31233`);
  expect(s.info.databaseUrl).toContain(`@${ip}:35433/`);
  expect(s.info.s3Endpoint).toBe(`http://${ip}:39400`);
  expect(s.info.serveUrl).toBe(`http://${ip}:38501`);
  // --pools none: no pool process on the services host.
  expect(Object.keys(s.info.processes).filter((name) => name.startsWith('pool-'))).toEqual([]);
});

test(
  'one host: every pool on pool-a runs the pipeline and registers the model',
  async () => {
    await withLogs(async () => {
      const s = stack!;
      await s.startPools('pool-a');
      const run = s.run(spec);
      one.workflowId = await run.workflowId;
      expect(await run.exited).toBe(0);
      const registered = await s.registeredModel(MODEL, one.workflowId);
      one.modelSha256 = registered.modelSha256;
      one.version = registered.version;
      expect(one.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    });
  },
  5 * 60_000,
);

test(
  'two hosts, pool-b cut off while it trains: the run completes on pool-a with the same model bytes',
  async () => {
    await withLogs(async () => {
      const s = stack!;
      expect(one.modelSha256).toBeDefined();
      const poolB = await s.startPools('pool-b');
      const gpuA = s.pools.find((p) => p.host === 'pool-a' && p.pool === 'gpu')!;
      const gpuB = poolB.find((p: PoolProcess) => p.pool === 'gpu')!;
      const started = Date.now();
      const run = s.run(spec);
      let ended = false;
      void run.exited.then(() => (ended = true));
      const workflowId = await run.workflowId;
      const child = `${workflowId}-train`;

      // Wait for pool-b's gpu process to hold a worker's share of an epoch, then pull its cable.
      const held = await waitUntil(
        'pool-b to train a worker share',
        180_000,
        async () => {
          if (ended) throw new GiveUp('the run ended before pool-b trained');
          const pending = (await s.describe(child)).pendingActivities ?? [];
          return pending.find((a: PendingActivity) => a.activityType?.name === 'trainShards' && a.lastWorkerIdentity === gpuB.identity);
        },
        250,
      );
      s.hosts.get('pool-b')!.cutOff();
      const cutAt = Date.now();
      console.log(
        `[multi-host] cut pool-b off ${((cutAt - started) / 1000).toFixed(1)} s into the run, while it held ${held.activityId} (attempt ${held.attempt})`,
      );

      // Its heartbeat times out (30 s) and pool-a takes the attempt over (the history below checks it).
      const retried = await waitUntil(
        'pool-a to retry the share pool-b held',
        150_000,
        async () => {
          const pending = (await s.describe(child)).pendingActivities ?? [];
          const again = pending.find((a) => a.activityId === held.activityId);
          return again && (again.attempt ?? 1) > 1 && again.lastWorkerIdentity === gpuA.identity ? again : undefined;
        },
        500,
      ).catch(() => undefined);
      if (retried)
        console.log(`[multi-host] attempt ${retried.attempt} of ${held.activityId} on pool-a ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut`);

      expect(await run.exited).toBe(0);
      console.log(
        `[multi-host] the two-host run completed ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut, ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
      );
      const registered = await s.registeredModel(MODEL, workflowId);
      expect(registered.version).toBe(one.version! + 1);
      expect(registered.modelSha256).toBe(one.modelSha256);

      // The history (which keeps an activity's last attempt): pool-b's attempt timed out on its heartbeat, pool-a's finished it.
      const history = JSON.parse(await s.history(child)) as { events: HistoryEvent[] };
      const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === held.activityId)!;
      const start = history.events.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId === scheduled.eventId)!;
      expect(start.activityTaskStartedEventAttributes).toMatchObject({ identity: gpuA.identity });
      expect(start.activityTaskStartedEventAttributes!.attempt).toBeGreaterThan(1);
      expect(JSON.stringify(start.activityTaskStartedEventAttributes!.lastFailure)).toContain('TIMEOUT_TYPE_HEARTBEAT');
      expect(history.events.some((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId === scheduled.eventId)).toBe(true);
    });
  },
  6 * 60_000,
);

test('the stored histories hold no spec in clear: payloads are encrypted', async () => {
  await withLogs(async () => {
    const s = stack!;
    const workflowId = one.workflowId!;
    for (const id of [workflowId, `${workflowId}-train`]) {
      // As the server stores them (no codec): every payload decoded from its base64.
      const payloads = storedPayloads(JSON.parse(await s.history(id)));
      const encrypted = payloads.filter((p) => p.encoding === 'binary/encrypted');
      expect(encrypted.length).toBeGreaterThan(0);
      expect(payloads.filter((p) => p.data.includes(TABLE))).toEqual([]);
      // Search attributes stay readable on purpose: the decoding does find text where there is some.
      expect(payloads.some((p) => p.encoding === 'json/plain' && p.data.includes(MODEL))).toBe(true);
    }
  });
}, 60_000);

/** Every payload (`{ metadata, data }`) anywhere in a history as the CLI prints it, with its encoding and data decoded. */
function storedPayloads(value: unknown, out: Array<{ encoding: string; data: string }> = []): Array<{ encoding: string; data: string }> {
  if (Array.isArray(value)) for (const item of value) storedPayloads(item, out);
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const metadata = record.metadata as Record<string, string> | undefined;
    if (metadata && typeof metadata.encoding === 'string') {
      const decode = (b64: unknown): string => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('latin1') : '');
      out.push({ encoding: decode(metadata.encoding), data: decode(record.data) });
    } else for (const item of Object.values(record)) storedPayloads(item, out);
  }
  return out;
}

interface HistoryEvent {
  eventId: string;
  activityTaskScheduledEventAttributes?: { activityId: string };
  activityTaskStartedEventAttributes?: { scheduledEventId: string; identity: string; attempt: number; lastFailure?: unknown };
  activityTaskCompletedEventAttributes?: { scheduledEventId: string };
}
