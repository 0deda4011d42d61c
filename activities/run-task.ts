import { ApplicationFailure, Context } from '@temporalio/activity';
import { isPipelineInputError } from '../lib/errors';
import { runInThread } from '../lib/threads/run-in-thread';
import type { ThreadTaskInput, ThreadTaskName, ThreadTaskOutput } from '../lib/threads/tasks';

const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Runs a lib task in a worker thread from inside an activity: heartbeats with the task's progress
 * (and at least every few seconds, so a slow start never looks like a lost worker), stops the
 * thread when Temporal cancels the activity, and turns user mistakes into non-retryable failures.
 */
export async function runTaskInActivity<N extends ThreadTaskName>(task: N, input: ThreadTaskInput<N>): Promise<ThreadTaskOutput<N>> {
  const ctx = Context.current();
  let progress = 0;
  const timer = setInterval(() => ctx.heartbeat({ progress }), HEARTBEAT_EVERY_MS);
  try {
    return await runInThread(task, input, (value) => {
      progress = value;
      ctx.heartbeat({ progress });
    }, ctx.cancellationSignal);
  } catch (err) {
    throw asTemporalFailure(err);
  } finally {
    clearInterval(timer);
  }
}

/** User mistakes (PipelineInputError) become non-retryable; everything else retries with backoff. */
export function asTemporalFailure(err: unknown): unknown {
  if (isPipelineInputError(err)) return ApplicationFailure.nonRetryable((err as Error).message, 'PipelineInputError');
  return err;
}

export async function withInputErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asTemporalFailure(err);
  }
}
