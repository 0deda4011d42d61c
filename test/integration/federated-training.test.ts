import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { federatedProgressQuery, workerIdentity, type CheckpointRef, type FederatedTrainingResult } from '../../contracts';
import { readArtifactJson } from '../../lib/artifacts/artifact-store';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';
import { weightVector } from '../../lib/federated/model-vector';
import type { SavedModel } from '../../lib/models/model-io';
import { listModelVersions } from '../../lib/registry/model-registry';
import type { FederatedSpec } from '../../lib/spec/federated-spec';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { startFederatedTraining, watchFederatedTraining } from '../../scripts/client/federated-client';
import { failureMessage, startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { GiveUp, waitFor } from '../../scripts/stack/child-process';
import type { StackInfo } from '../../scripts/stack/stack';
import {
  createSiteDatabase,
  createSyntheticTable,
  exchangeStoreUrl,
  federatedSpec,
  filesUnder,
  historyText,
  payloadEncodings,
  sha256,
  siteIdentity,
  startSite,
  storeFolder,
  syntheticSpec,
  waitForPoller,
  type Site,
} from './federated-sites';
import { openTestStack, type TestStack } from './stack';

/**
 * Federated training on the real stack: the coordinator (federatedTraining) on the stack's pools,
 * and each site a `pipewright site --name <site>` process of its own, with its own database on the
 * stack's PostgreSQL and its own PIPEWRIGHT_HOME, exchanging only statistics, updates and metric
 * states through the stack's artifact store.
 */
const RUN = randomBytes(3).toString('hex');
const A = `a-${RUN}`;
const B = `b-${RUN}`;
const C = `c-${RUN}`;
/** The table on the stack's main database that holds one copy of the identical sites' rows. */
const CENTRAL_TABLE = `fed_same_${RUN}`;

let stack: TestStack;
let tmp: string;
let logDir: string;
const sites = new Map<string, Site>();
const site = (name: string): Site => sites.get(name)!;
let runs = 0;

const token = (): string => randomBytes(6).toString('hex');
const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const stackInfo = (): StackInfo => JSON.parse(readFileSync(path.join(stack.home, 'stack.json'), 'utf8')) as StackInfo;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function start(spec: FederatedSpec) {
  return startFederatedTraining(stack.client, spec, { queuePrefix: stack.info.queuePrefix, workflowId: `${spec.pipeline.name}-${RUN}-${++runs}` });
}

type Run = Awaited<ReturnType<typeof start>>;

/**
 * The run's result, or, when it has not finished within `limitMs`, an error saying where it stood
 * (its progress and pending steps); the run is then terminated so that it does not linger.
 */
async function finish(handle: Run, limitMs = 300_000): Promise<FederatedTrainingResult> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void whereItStands(handle).then(
        (state) => reject(new Error(`${handle.workflowId} did not finish within ${limitMs / 1000} s: ${state}`)),
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
    }, limitMs);
  });
  try {
    return await Promise.race([watchFederatedTraining(handle), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function whereItStands(handle: Run): Promise<string> {
  const progress = await handle.query(federatedProgressQuery).catch((err: unknown) => `(no progress: ${String(err)})`);
  const pending = ((await handle.describe()).raw.pendingActivities ?? []).map((a) => ({
    type: a.activityType?.name,
    state: a.state,
    attempt: a.attempt,
    worker: a.lastWorkerIdentity,
    failure: a.lastFailure?.message,
  }));
  await handle.terminate('the test gave up waiting').catch(() => undefined);
  return JSON.stringify({ progress, pending });
}

async function federate(spec: FederatedSpec): Promise<FederatedTrainingResult> {
  return finish(await start(spec));
}

async function weightsOf(ref: Pick<CheckpointRef, 'uri'>): Promise<Float32Array> {
  return weightVector(await readArtifactJson<SavedModel>(ref));
}

const bits = (v: Float32Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

beforeAll(async () => {
  stack = await openTestStack();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'pipewright-federated-'));
  logDir = path.join(tmp, 'logs');
  // One at a time: CREATE DATABASE copies template1, which two at once would both hold.
  for (const name of [A, B, C]) sites.set(name, await createSiteDatabase(stack, name, RUN, tmp));
  // Identical rows at A and B, and one copy in the stack's own database for the centralized run.
  for (const db of [site(A).db, site(B).db, stack.db]) {
    const table = db === stack.db ? CENTRAL_TABLE : 'same_t';
    await createSyntheticTable(db, table, { rows: 4000, site: db === stack.db ? 'central' : db === site(A).db ? A : B, token: token() });
  }
  // Sites of different sizes and rows (C the largest, so its rounds last long enough to be caught).
  await createSyntheticTable(site(A).db, 'sized_t', { rows: 3000, firstId: 1, site: A, token: token() });
  await createSyntheticTable(site(B).db, 'sized_t', { rows: 6000, firstId: 100_001, site: B, token: token() });
  await createSyntheticTable(site(C).db, 'sized_t', { rows: 9000, firstId: 200_001, site: C, token: token() });
  // C's table lacks the categorical feature's column.
  await createSyntheticTable(site(A).db, 'bad_t', { rows: 2000, firstId: 1, site: A, token: token() });
  await createSyntheticTable(site(B).db, 'bad_t', { rows: 2000, firstId: 100_001, site: B, token: token() });
  await createSyntheticTable(site(C).db, 'bad_t', { rows: 2000, firstId: 200_001, site: C, token: token(), without: 'cat' });
  await Promise.all([A, B, C].map((name) => startSite(stack, site(name), logDir)));
});

afterAll(async () => {
  await Promise.all([...sites.values()].map((s) => s.proc?.stop()));
  await stack?.close();
  if (tmp && !process.env.PIPEWRIGHT_IT_KEEP) rmSync(tmp, { recursive: true, force: true });
});

describe('FedAvg against centralized training', () => {
  test('two identical sites, one round of 2 local epochs: the global weights equal centralized training bit for bit', async () => {
    const federated = await federate(
      federatedSpec('fed_identical', 'same_t', { sites: [A, B], rounds: 1, localEpochs: 2, minSites: 2 }, { epochs: 2, parallelism: { workers: 1 } }),
    );
    expect(sorted(federated.rounds[0]!.used)).toEqual(sorted([A, B]));
    expect(federated.leftOut).toEqual([]);

    const central = parsePipelineSpec(syntheticSpec(`fed_central_${RUN}`, CENTRAL_TABLE, { model: { epochs: 2, parallelism: { workers: 1 } } }));
    const pipeline = await watchPipeline(await startTrainingPipeline(stack.client, central, { queuePrefix: stack.info.queuePrefix, reuseSteps: false }), false);
    const version = (await listModelVersions(stack.db, central.name)).find((v) => v.version === pipeline.model.version)!;

    // The same rows and split: each site trained on what the centralized run trained on.
    const [a, b] = [A, B].map((s) => federated.sites.find((x) => x.site === s)!);
    expect(a!.trainRows).toBe(b!.trainRows);
    expect(a!.trainRows + a!.testRows).toBe(4000);
    expect(federated.rounds[0]!.examples).toBe(2 * a!.trainRows * 2);

    const global = await weightsOf(federated.model);
    const centralized = await weightsOf({ uri: version.modelUri });
    expect(global.length).toBe(centralized.length);
    expect(Array.from(global)).toEqual(Array.from(centralized));
    expect(bits(global)).toBe(bits(centralized));
    expect(binaryMetricsOf(pipeline.metrics).auc).toBeGreaterThan(0.6);
  });

  test('two identical sites over 2 rounds end with the weights of one of them alone', async () => {
    const [two, one] = await Promise.all([
      federate(federatedSpec('fed_two_sites', 'same_t', { sites: [A, B], rounds: 2, localEpochs: 1, minSites: 2 })),
      federate(federatedSpec('fed_one_site', 'same_t', { sites: [A], rounds: 2, localEpochs: 1, minSites: 1 })),
    ]);
    expect(two.rounds.map((r) => sorted(r.used))).toEqual([sorted([A, B]), sorted([A, B])]);
    expect(one.rounds.map((r) => r.used)).toEqual([[A], [A]]);
    expect(two.rounds.map((r) => r.examples)).toEqual(one.rounds.map((r) => 2 * r.examples));
    expect(bits(await weightsOf(two.model))).toBe(bits(await weightsOf(one.model)));
    expect(binaryMetricsOf(two.metrics).auc).toBeGreaterThan(0.6);
  });
});

/** Sites A (3000 rows) and B (6000), 3 rounds of 2 local epochs: run once undisturbed, shared by the tests that need it. */
const sizedSpec = (): FederatedSpec => federatedSpec('fed_sized', 'sized_t', { sites: [A, B], rounds: 3, localEpochs: 2, minSites: 2 });
let undisturbed: Promise<FederatedTrainingResult> | undefined;
const undisturbedRun = (): Promise<FederatedTrainingResult> => (undisturbed ??= federate(sizedSpec()));

describe('rounds', () => {
  test("with sites of different sizes, each round's examples are the sites' train rows × localEpochs", async () => {
    const result = await undisturbedRun();
    const a = result.sites.find((s) => s.site === A)!;
    const b = result.sites.find((s) => s.site === B)!;
    expect([a.rows, b.rows]).toEqual([3000, 6000]);
    expect(a.trainRows + a.testRows).toBe(3000);
    expect(b.trainRows + b.testRows).toBe(6000);
    // The 20% hash split.
    expect(a.trainRows).toBeGreaterThan(2200);
    expect(a.trainRows).toBeLessThan(2600);
    expect(b.trainRows).toBeGreaterThan(4500);
    expect(b.trainRows).toBeLessThan(5100);
    expect(result.rounds).toHaveLength(3);
    for (const round of result.rounds) {
      expect(sorted(round.used)).toEqual(sorted([A, B]));
      expect(round.leftOut).toEqual([]);
      expect(round.examples).toBe((a.trainRows + b.trainRows) * 2);
    }
    expect(result.metrics.rows).toBe(a.testRows + b.testRows);
    expect(result.siteMetrics[A]!.rows).toBe(a.testRows);
    expect(result.siteMetrics[B]!.rows).toBe(b.testRows);
    expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.6);
  });
});

describe('failures', () => {
  test("the coordinator's worker killed mid-round: the run completes with the very model of an undisturbed run", async () => {
    const expected = await undisturbedRun();
    const handle = await start(sizedSpec());
    const roundAtKill = await waitFor(
      'a round in flight',
      240_000,
      async () => {
        const p = await handle.query(federatedProgressQuery);
        if (p.phase === 'finished' || p.phase === 'failed') throw new GiveUp(`the run reached ${p.phase} before the kill`);
        return p.phase === 'train' && Object.values(p.sites).some((s) => s.status === 'training') ? p.round : undefined;
      },
      50,
    );
    const victim = stackInfo().processes['pool-orchestrator']!;
    process.kill(victim, 'SIGKILL');
    const replacement = await waitFor('up to restart the orchestrator pool', 60_000, async () => {
      const pid = stackInfo().processes['pool-orchestrator'];
      return pid && pid !== victim && alive(pid) ? pid : undefined;
    });

    const result = await finish(handle);
    expect(roundAtKill).toBeGreaterThanOrEqual(1);
    expect(result.model.sha256).toBe(expected.model.sha256);
    expect(result.rounds.map(({ seconds: _s, ...r }) => r)).toEqual(expected.rounds.map(({ seconds: _s, ...r }) => r));
    expect(result.metrics).toEqual(expected.metrics);

    const log = readFileSync(path.join(stack.home, 'up.log'), 'utf8');
    expect(log).toContain(`[stack] pool-orchestrator (pid ${victim}) was killed by SIGKILL`);
    // The replacement worker carried the run on.
    const history = await handle.fetchHistory();
    const identities = new Set((history.events ?? []).flatMap((e) => e.workflowTaskStartedEventAttributes?.identity ?? []));
    expect(identities).toContain(workerIdentity('orchestrator', os.hostname(), victim));
    expect(identities).toContain(workerIdentity('orchestrator', os.hostname(), replacement));
    await waitForPoller(stack, `${stack.info.queuePrefix}orchestrator`, workerIdentity('orchestrator', os.hostname(), replacement), 'workflow');
  });

  test('a site killed mid-round is left out of that round and the next, and the run ends on the other two', async () => {
    const spec = federatedSpec(
      'fed_site_loss',
      'sized_t',
      { sites: [A, B, C], rounds: 3, localEpochs: 2, minSites: 2, roundTimeoutSeconds: 15, evaluateEvery: 3 },
      { batchSize: 32 },
    );
    const handle = await start(spec);
    const victim = site(C).proc!;
    const identity = siteIdentity(C, victim.child.pid!);
    await waitFor(
      `site ${C} to be training in round 2`,
      240_000,
      async () => {
        const p = await handle.query(federatedProgressQuery);
        if (p.phase === 'finished' || p.phase === 'failed' || p.round > 2) throw new GiveUp(`the run reached ${p.phase}, round ${p.round}, before the kill`);
        if (p.round < 2 || p.sites[C]?.status !== 'training') return undefined;
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const training = pending.some(
          (a) =>
            a.activityType?.name === 'trainSiteRound' &&
            a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
            a.lastWorkerIdentity === identity,
        );
        return training ? true : undefined;
      },
      50,
    );
    await victim.stop('SIGKILL');
    expect(victim.child.signalCode).toBe('SIGKILL');

    const result = await finish(handle);
    const [first, second, third] = result.rounds;
    expect(sorted(first!.used)).toEqual(sorted([A, B, C]));
    expect(first!.leftOut).toEqual([]);
    for (const [round, n] of [
      [second!, 2],
      [third!, 3],
    ] as const) {
      expect(sorted(round.asked)).toEqual(sorted([A, B, C]));
      expect(sorted(round.used)).toEqual(sorted([A, B]));
      expect(round.leftOut).toContainEqual({ site: C, reason: `round ${n}: no answer before the deadline` });
      // (The evaluation after a round may note C's silence there too.)
      expect(round.leftOut.filter((l) => l.site !== C || !/^(round \d+|evaluating): no answer before the deadline$/.test(l.reason))).toEqual([]);
      // Waited for the round's deadline, not longer.
      expect(round.seconds).toBeGreaterThanOrEqual(15);
      expect(round.seconds).toBeLessThan(60);
    }
    const trainRows = (s: string): number => result.sites.find((x) => x.site === s)!.trainRows;
    const testRows = (s: string): number => result.sites.find((x) => x.site === s)!.testRows;
    expect(second!.examples).toBe((trainRows(A) + trainRows(B)) * 2);
    // The final metrics are the other two sites' test splits.
    expect(sorted(Object.keys(result.siteMetrics))).toEqual(sorted([A, B]));
    expect(result.metrics.rows).toBe(testRows(A) + testRows(B));
    expect(binaryMetricsOf(result.metrics).auc).toBeGreaterThan(0.6);

    // C again, for the tests after this one.
    await startSite(stack, site(C), logDir, `site-${C}-restarted`);
  });

  test('a site whose table lacks a feature column is left out, naming the site and the column; with too few sites left the run fails so', async () => {
    const result = await federate(federatedSpec('fed_bad_input', 'bad_t', { sites: [A, B, C], rounds: 1, minSites: 2 }));
    expect(result.leftOut).toHaveLength(1);
    expect(result.leftOut[0]!.site).toBe(C);
    expect(result.leftOut[0]!.reason).toMatch(/^preparing: .*\bcat\b/);
    expect(sorted(result.rounds[0]!.used)).toEqual(sorted([A, B]));
    expect(result.sites.map((s) => s.site).sort()).toEqual(sorted([A, B]));

    const handle = await start(federatedSpec('fed_bad_input', 'bad_t', { sites: [A, C], rounds: 1, minSites: 2 }));
    const err: unknown = await finish(handle).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = failureMessage(err);
    expect(message).toMatch(/only 1 of 2 (training )?sites could prepare their data, and minSites is 2/);
    expect(message).toContain(`left out: ${C} (preparing: `);
    expect(message).toMatch(/\bcat\b/);
  });
});

describe('privacy', () => {
  test("no row of a site is in the workflow history, in another site's store or in the exchange store", async () => {
    const P = `p-${RUN}`;
    const Q = `q-${RUN}`;
    const rows = 3000;
    const layout = { [P]: { firstId: 7_100_001, categoryPrefix: `pcat${RUN}` }, [Q]: { firstId: 7_300_001, categoryPrefix: `qcat${RUN}` } };
    for (const name of [P, Q]) {
      const s = await createSiteDatabase(stack, name, RUN, tmp);
      sites.set(name, s);
      await createSyntheticTable(s.db, 'private_t', { rows, ...layout[name]!, site: name, token: token() });
    }
    await Promise.all([P, Q].map((name) => startSite(stack, site(name), logDir)));
    // `note` (a unique text per row) is read as a hashed feature, so it is in each site's shards; `secret` is read by nothing.
    const features = [
      { kind: 'numeric', name: 'x', column: 'x', scale: 'minMax' },
      { kind: 'categorical', name: 'cat', column: 'cat', topK: 20 },
      { kind: 'hashed', name: 'note', column: 'note', buckets: 16 },
    ];
    const handle = await start(federatedSpec('fed_private', 'private_t', { sites: [P, Q], rounds: 2, minSites: 2 }, {}, features));
    const result = await finish(handle);
    expect(sorted(result.rounds[1]!.used)).toEqual(sorted([P, Q]));

    // The coordinator's history, as anyone who can read it sees it.
    const history = await handle.fetchHistory();
    const text = historyText(history);
    expect(payloadEncodings(history)).toContain('json/plain');
    for (const seen of ['trainSiteRound', 'private_t', P, Q]) expect(text).toContain(seen);
    for (const name of [P, Q]) {
      expect(text).not.toContain(`row-secret-${name}-`);
      expect(text).not.toContain(`row-note-${name}-`);
      // No row as text: a site's category next to one of its keys.
      const { firstId, categoryPrefix } = layout[name]!;
      const pairs: string[] = [];
      for (let i = text.indexOf(categoryPrefix); i >= 0; i = text.indexOf(categoryPrefix, i + 1)) {
        const around = text.slice(Math.max(0, i - 300), i + 300);
        for (const m of around.matchAll(/\d+/g)) {
          const id = Number(m[0]);
          if (id >= firstId && id < firstId + rows) pairs.push(around);
        }
      }
      expect(pairs).toEqual([]);
    }

    const exchange = filesUnder(storeFolder(exchangeStoreUrl(stack)));
    const homeFiles = (name: string): string[] => filesUnder(site(name).home);
    expect(exchange.length).toBeGreaterThan(0);
    for (const [mine, other] of [
      [P, Q],
      [Q, P],
    ] as const) {
      const markers = [`row-note-${mine}-`, `row-secret-${mine}-`];
      // The search can see a shard's text: the site's own shards hold its notes.
      expect(homeFiles(mine).some((f) => readFileSync(f).includes(markers[0]!))).toBe(true);
      const leaks = [...homeFiles(other), ...exchange].filter((f) => {
        const bytes = readFileSync(f);
        return markers.some((m) => bytes.includes(m) || bytes.toString('latin1').includes(m));
      });
      expect(leaks).toEqual([]);
      // No copy of the site's shards (ingested or encoded) anywhere else.
      const artifacts = path.join(site(mine).home, 'artifacts');
      const shards = new Set(
        [...filesUnder(path.join(artifacts, 'shards')), ...filesUnder(path.join(artifacts, 'encoded'))].map((f) => sha256(readFileSync(f))),
      );
      expect(shards.size).toBeGreaterThanOrEqual(4);
      const copies = [...homeFiles(other), ...exchange].filter((f) => shards.has(sha256(readFileSync(f))));
      expect(copies).toEqual([]);
    }
  });
});
