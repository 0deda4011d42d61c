/**
 * The rollout workflow on a local dev server with fake release activities: a challenger that holds
 * is promoted when the window ends; a broken one is rolled back on its own before it ends, with the
 * figures in the reason; one that fails its check never gets traffic.
 */
import { Worker } from '@temporalio/worker';
import {
  DEFAULT_ROLLOUT_POLICY,
  rolloutProgressQuery,
  type CandidateCheck,
  type FinishRolloutInput,
  type RoleStats,
  type RolloutPolicy,
  type RolloutResult,
  type RolloutStats,
  type SetRolloutInput,
} from '../../contracts';
import type { rollout } from '../../workflows';
import { sameQueueForEveryPool, useWorkflowEnvironment, uniqueName } from './helpers';

const suite = useWorkflowEnvironment();

const side = (requests: number, errors: number, p99Ms = 2): RoleStats => ({ requests, errors, p50Ms: 1, p99Ms });

interface Fake {
  check?: CandidateCheck;
  /** The server's figures at the n-th read. */
  statsAt: (n: number) => RolloutStats;
}

async function runRollout(policy: Partial<RolloutPolicy>, fake: Fake) {
  const taskQueue = uniqueName('rollout');
  const calls: Array<{ name: string; input: unknown }> = [];
  let reads = 0;
  const activities = {
    async checkCandidate(input: { model: string; version: number }): Promise<CandidateCheck> {
      calls.push({ name: 'checkCandidate', input });
      return fake.check ?? { ok: true, latencyMs: 3 };
    },
    async startRollout(input: SetRolloutInput): Promise<RolloutStats> {
      calls.push({ name: 'startRollout', input });
      return fake.statsAt(0);
    },
    async rolloutStats(input: SetRolloutInput): Promise<RolloutStats> {
      calls.push({ name: 'rolloutStats', input });
      return fake.statsAt(++reads);
    },
    async finishRollout(input: FinishRolloutInput): Promise<{ production: number | null }> {
      calls.push({ name: 'finishRollout', input });
      return { production: input.outcome === 'promote' ? input.version : 3 };
    },
  };
  const worker = await Worker.create({
    connection: suite.env.nativeConnection,
    namespace: suite.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: suite.bundle,
    activities,
  });
  return worker.runUntil(async () => {
    const handle = await suite.env.client.workflow.start<typeof rollout>('rollout', {
      taskQueue,
      workflowId: taskQueue,
      args: [
        {
          model: 'flights',
          version: 4,
          policy: { ...DEFAULT_ROLLOUT_POLICY, checkEverySeconds: 0.05, ...policy },
          queues: sameQueueForEveryPool(taskQueue),
          actor: 'user:test',
        },
      ],
    });
    const result: RolloutResult = await handle.result();
    const progress = await handle.query(rolloutProgressQuery);
    return { result, calls, progress };
  });
}

const stats = (production: RoleStats, challenger: RoleStats, mode: 'canary' | 'shadow' = 'canary'): RolloutStats => ({
  active: true,
  version: 4,
  mode,
  production,
  challenger,
  compared: { rows: 0, meanDifference: null },
});

test('a challenger that holds over the window is promoted, with its figures in the reason', async () => {
  const { result, calls, progress } = await runRollout({ windowSeconds: 0.5, minRequests: 20 }, { statsAt: (n) => stats(side(100 * n, 0), side(50 * n, 0)) });
  expect(result).toMatchObject({ model: 'flights', version: 4, mode: 'canary', outcome: 'promoted', production: 4 });
  expect(result.reason).toMatch(/^canary held for 0.5 s: error rate 0.0% vs production 0.0%, p99 2.0 ms vs 2.0 ms over \d+ requests$/);
  const finish = calls.find((c) => c.name === 'finishRollout')!.input as FinishRolloutInput;
  expect(finish).toMatchObject({ outcome: 'promote', reason: result.reason });
  expect(finish.actor).toMatch(/^user:test via rollout-/);
  expect(calls.filter((c) => c.name === 'rolloutStats').length).toBeGreaterThanOrEqual(1);
  expect(progress.phase).toBe('done');
});

test('a broken challenger is rolled back on its own as soon as its errors show, long before the window ends', async () => {
  const { result, calls } = await runRollout({ windowSeconds: 3600 }, { statsAt: (n) => stats(side(90 * n, 0), side(10 * n, 10 * n)) });
  expect(result.outcome).toBe('rolled_back');
  expect(result.production).toBe(3);
  expect(result.reason).toBe('the canary failed 10 of 10 requests (100.0%; production 0.0%)');
  expect(calls.map((c) => c.name)).toEqual(['checkCandidate', 'startRollout', 'rolloutStats', 'finishRollout']);
});

test('a candidate that fails its check is rolled back without any traffic', async () => {
  const { result, calls } = await runRollout(
    {},
    { check: { ok: false, reason: 'flights v4 failed its check: row 0 gives no finite prediction' }, statsAt: () => stats(side(0, 0), side(0, 0)) },
  );
  expect(result).toMatchObject({ outcome: 'rolled_back', reason: 'flights v4 failed its check: row 0 gives no finite prediction', stats: null });
  expect(calls.map((c) => c.name)).toEqual(['checkCandidate', 'finishRollout']);
});

test('shadow: predictions too far from production roll it back', async () => {
  const { result } = await runRollout(
    { mode: 'shadow', share: 1, minRequests: 10, windowSeconds: 3600, maxPredictionDifference: 0.05 },
    { statsAt: (n) => ({ ...stats(side(20 * n, 0), side(20 * n, 0), 'shadow'), compared: { rows: 20 * n, meanDifference: 0.2 } }) },
  );
  expect(result.outcome).toBe('rolled_back');
  expect(result.reason).toBe("the shadow's predictions differ from production's by 0.200 on average over 20 rows; at most 0.05 allowed");
});
