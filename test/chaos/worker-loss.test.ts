import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { listModelVersions } from '../../lib/registry/model-registry';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import { startProcess, waitFor, type ManagedProcess } from '../../scripts/stack/child-process';
import { waitForPoolPoller } from '../../scripts/stack/stack';
import { WORKER_POOLS, workerIdentity, type WorkerPool, progressQuery } from '../../contracts';
import { flightsSpec, openTestStack, type TestStack } from '../integration/stack';

/**
 * Kill and restart: a gpu worker dies in the middle of a training epoch (SIGKILL, as when a
 * machine is lost). Temporal notices the missed heartbeat, retries the epoch on the replacement
 * worker from the previous epoch's checkpoint, and the run ends with the very model an
 * uninterrupted run produces.
 */
const TABLE = 'flights_50000';
const PREFIX = 'chaos-';
const WORKERS = path.join(__dirname, '..', '..', 'dist', 'workers');

let stack: TestStack;
const pools = new Map<WorkerPool, ManagedProcess>();

function startPool(pool: WorkerPool, generation = 1): ManagedProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.info.temporalAddress,
    TEMPORAL_NAMESPACE: stack.info.namespace,
    DATABASE_URL: stack.info.databaseUrl,
    PIPEWRIGHT_HOME: stack.home,
    PIPEWRIGHT_SERVE_URL: stack.info.serveUrl ?? '',
    PIPEWRIGHT_QUEUE_PREFIX: PREFIX,
  };
  const proc = startProcess(`chaos-${pool}-${generation}`, process.execPath, [path.join(WORKERS, `${pool}.js`)], env, path.join(stack.home, 'logs'));
  pools.set(pool, proc);
  return proc;
}

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
  for (const pool of WORKER_POOLS) startPool(pool);
  await Promise.all(WORKER_POOLS.map((pool) => waitForPoolPoller(stack.client, stack.info.namespace, pool, pools.get(pool)!, PREFIX)));
});

afterAll(async () => {
  await Promise.all([...pools.values()].map((p) => p.stop()));
  await stack?.close();
});

test('a gpu worker killed mid-epoch costs one retried epoch, not the run, and the model is bit-identical', async () => {
  // Small batches make each epoch long enough (seconds) to be caught in the middle.
  const spec = flightsSpec(TABLE, { name: 'flights_chaos', model: { type: 'mlp', hidden: [32], epochs: 3, batchSize: 64, learningRate: 0.005, seed: 7 } });

  const handle = await startTrainingPipeline(stack.client, spec, { queuePrefix: PREFIX, reuseSteps: false });
  // Wait until the second epoch is running on the gpu worker, then kill that worker outright.
  await waitFor(
    'the second training epoch to start',
    120_000,
    async () => {
      const progress = await handle.query(progressQuery);
      if (progress.stage === 'failed' || progress.stage === 'finished') throw new Error(`run reached ${progress.stage} before the kill`);
      if (progress.stage !== 'train' || progress.stages.train.done < 1) return undefined;
      // Epochs are activities of the run's training child.
      const pending = (await stack.client.workflow.getHandle(`${handle.workflowId}-train`).describe()).raw.pendingActivities ?? [];
      const running = pending.find(
        (a) => a.activityType?.name === 'trainEpoch' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      return running ? true : undefined;
    },
    50,
  );
  const victim = pools.get('gpu')!;
  await victim.stop('SIGKILL');
  expect(victim.child.signalCode).toBe('SIGKILL');
  const replacement = startPool('gpu', 2);
  await waitForPoolPoller(stack.client, stack.info.namespace, 'gpu', replacement, PREFIX);

  const result = await watchPipeline(handle, false);

  // The training child's history shows the epoch that was lost and its retry on the replacement worker.
  const history = await stack.client.workflow.getHandle(`${handle.workflowId}-train`).fetchHistory();
  const epochStarts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!);
  const retried = epochStarts.filter((a) => (a.attempt ?? 1) > 1);
  expect(retried.length).toBeGreaterThanOrEqual(1);
  expect(retried.map((a) => a.identity)).toContain(workerIdentity('gpu', os.hostname(), replacement.child.pid!));

  // Resumed from the checkpoint with the same seeds: the same model an uninterrupted run trains
  // (trained again, not taken from the step cache).
  const reference = await watchPipeline(await startTrainingPipeline(stack.client, spec, { reuseSteps: false }), false);
  const versions = await listModelVersions(stack.db, 'flights_chaos');
  const chaosModel = versions.find((v) => v.version === result.model.version)!;
  const referenceModel = versions.find((v) => v.version === reference.model.version)!;
  expect(chaosModel.modelSha256).toBe(referenceModel.modelSha256);
  expect(result.metrics).toEqual(reference.metrics);
});
