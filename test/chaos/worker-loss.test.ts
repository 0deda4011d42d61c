import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { listModelVersions } from '../../lib/registry/model-registry';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { trainingHeartbeat } from '../../scripts/client/training-activity';
import { startProcess, waitFor, type ManagedProcess } from '../../scripts/stack/child-process';
import { waitForPoolPoller } from '../../scripts/stack/stack';
import { WORKER_POOLS, workerIdentity, type TrainShardsResult, type WorkerPool, progressQuery } from '../../contracts';
import { flightsSpec, openTestStack, type TestStack } from '../integration/stack';

/**
 * Kill and restart: one of two gpu workers dies in the middle of a data-parallel training round
 * (SIGKILL, as when a machine is lost). Temporal notices the missed heartbeat and retries that
 * worker's share; the retry resumes from the mid-epoch checkpoint its last heartbeat carried,
 * and the run ends with the very model an undisturbed run produces.
 */
const TABLE = 'flights_200000';
const PREFIX = 'chaos-';
const WORKERS = path.join(__dirname, '..', '..', 'dist', 'workers');

let stack: TestStack;
/** Pool processes by name: cpu, eval, ..., and gpu-1, gpu-2 for the two training workers. */
const pools = new Map<string, ManagedProcess>();

function startPool(pool: WorkerPool, name: string = pool): ManagedProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.info.temporalAddress,
    TEMPORAL_NAMESPACE: stack.info.namespace,
    DATABASE_URL: stack.info.databaseUrl,
    PIPEWRIGHT_HOME: stack.home,
    PIPEWRIGHT_SERVE_URL: stack.info.serveUrl ?? '',
    PIPEWRIGHT_QUEUE_PREFIX: PREFIX,
  };
  const proc = startProcess(`chaos-${name}`, process.execPath, [path.join(WORKERS, `${pool}.js`)], env, path.join(stack.home, 'logs'));
  pools.set(name, proc);
  return proc;
}

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 200_000);
  for (const pool of WORKER_POOLS) startPool(pool, pool === 'gpu' ? 'gpu-1' : pool);
  startPool('gpu', 'gpu-2');
  await Promise.all(
    [...pools].map(([name, proc]) =>
      waitForPoolPoller(stack.client, stack.info.namespace, name.startsWith('gpu') ? 'gpu' : (name as WorkerPool), proc, PREFIX),
    ),
  );
});

afterAll(async () => {
  await Promise.all([...pools.values()].map((p) => p.stop()));
  await stack?.close();
});

test('a gpu worker killed mid-round resumes from its mid-epoch checkpoint, and the model is bit-identical', async () => {
  // Small batches make a round last seconds, with a checkpoint every 100 of them.
  const model = {
    type: 'mlp',
    hidden: [64, 32],
    epochs: 2,
    batchSize: 32,
    learningRate: 0.002,
    seed: 7,
    parallelism: { workers: 2 },
    checkpointEveryBatches: 100,
  };
  const spec = flightsSpec(TABLE, { name: 'flights_chaos', model });

  const handle = await startTrainingPipeline(stack.client, spec, { queuePrefix: PREFIX, reuseSteps: false });
  // Wait until a worker of the second epoch has heartbeated a mid-epoch checkpoint, then kill its process.
  const victimIdentity = await waitFor(
    'a training activity of epoch 2 to heartbeat a mid-epoch checkpoint',
    180_000,
    async () => {
      const progress = await handle.query(progressQuery);
      if (progress.stage === 'failed' || progress.stage === 'finished') throw new Error(`run reached ${progress.stage} before the kill`);
      if (progress.stage !== 'train' || progress.stages.train.done < 1) return undefined;
      const pending = (await stack.client.workflow.getHandle(`${handle.workflowId}-train`).describe()).raw.pendingActivities ?? [];
      const running = pending.find(
        (a) =>
          a.activityType?.name === 'trainShards' &&
          a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
          trainingHeartbeat(a)?.resume !== undefined,
      );
      return running?.lastWorkerIdentity ?? undefined;
    },
    50,
  );
  const victimName = [...pools].find(([name, p]) => name.startsWith('gpu') && workerIdentity('gpu', os.hostname(), p.child.pid!) === victimIdentity)?.[0];
  expect(victimName).toBeDefined();
  const victim = pools.get(victimName!)!;
  await victim.stop('SIGKILL');
  expect(victim.child.signalCode).toBe('SIGKILL');
  const replacement = startPool('gpu', `${victimName!}-replacement`);
  await waitForPoolPoller(stack.client, stack.info.namespace, 'gpu', replacement, PREFIX);

  const result = await watchPipeline(handle, false);

  // The training child's history: the lost share was retried, and the retry resumed mid-epoch.
  const history = await stack.client.workflow.getHandle(`${handle.workflowId}-train`).fetchHistory();
  const events = history.events ?? [];
  const retried = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
  expect(retried.length).toBeGreaterThanOrEqual(1);
  const results = events
    .filter((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
    .map((e) => JSON.parse(Buffer.from(e.activityTaskCompletedEventAttributes!.result!.payloads![0]!.data!).toString('utf8')) as Partial<TrainShardsResult>);
  const resumed = results.filter((r) => r.resumedAtBatch !== undefined);
  expect(resumed).toHaveLength(1);
  expect(resumed[0]!.resumedAtBatch! % 100).toBe(0);
  expect(resumed[0]!.resumedAtBatch!).toBeGreaterThan(0);

  // Resumed from the checkpoint with the same seeds: the same model an undisturbed run trains
  // (trained again, not taken from the step cache).
  const reference = await watchPipeline(await startTrainingPipeline(stack.client, spec, { queuePrefix: PREFIX, reuseSteps: false }), false);
  const versions = await listModelVersions(stack.db, 'flights_chaos');
  const chaosModel = versions.find((v) => v.version === result.model.version)!;
  const referenceModel = versions.find((v) => v.version === reference.model.version)!;
  expect(chaosModel.modelSha256).toBe(referenceModel.modelSha256);
  expect(result.metrics).toEqual(reference.metrics);
});
