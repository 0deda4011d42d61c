import { ApplicationFailure, Context } from '@temporalio/activity';
import { causeChain, PIPELINE_INPUT_ERROR } from '../../contracts';
import { runInThread } from '../../lib/threads/run-in-thread';
import type { ThreadTaskInput, ThreadTaskName, ThreadTaskOutput } from '../../lib/threads/tasks';

const HEARTBEAT_EVERY_MS = 5_000;

/**
 * The frame of every activity: heartbeats every few seconds from the main thread (so a slow query
 * or a long task never looks like a lost worker, and a lost worker is noticed within the stage's
 * heartbeat timeout), and turns user mistakes into non-retryable failures.
 */
export async function runActivity<T>(body: () => Promise<T>, details: () => unknown = () => undefined): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_EVERY_MS);
  try {
    return await body();
  } catch (err) {
    throw asTemporalFailure(err);
  } finally {
    clearInterval(timer);
  }
}

/**
 * Runs a lib task in a worker thread from inside an activity: heartbeats with the task's progress,
 * and stops the thread when Temporal cancels the activity. A task that reports details (a resume
 * point) has its latest details in every heartbeat from then on, since a heartbeat replaces the
 * previous one's details.
 */
export async function runTaskInActivity<N extends ThreadTaskName>(task: N, input: ThreadTaskInput<N>): Promise<ThreadTaskOutput<N>> {
  const ctx = Context.current();
  let progress = 0;
  let latest: object = {};
  const heartbeatDetails = (): object => ({ ...latest, progress });
  const onProgress = (value: number, details?: unknown): void => {
    progress = value;
    if (details !== undefined) latest = details as object;
    ctx.heartbeat(heartbeatDetails());
  };
  return runActivity(() => runInThread(task, input, onProgress, ctx.cancellationSignal), heartbeatDetails);
}

/** User mistakes (PipelineInputError) become non-retryable; everything else retries with backoff. */
export function asTemporalFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  const mistake = causeChain(err).find((e): e is Error => e instanceof Error && e.name === PIPELINE_INPUT_ERROR);
  return mistake ? ApplicationFailure.nonRetryable(mistake.message, PIPELINE_INPUT_ERROR) : err;
}
