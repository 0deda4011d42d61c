import { parentPort } from 'node:worker_threads';
import { openArtifactStore } from '../artifacts/artifact-store';
import { THREAD_TASKS, type ThreadMessage, type ThreadRequest } from './tasks';

/**
 * A task thread: runs the named tasks it is sent, one at a time, posting progress and the result
 * back under the request's id. The thread lives on between tasks (see run-in-thread.ts), so the
 * modules a task loads are loaded once.
 */
async function run(request: ThreadRequest): Promise<void> {
  const post = (message: ThreadMessage): void => parentPort!.postMessage(message);
  const { id, task, input } = request;
  try {
    for (const store of request.stores ?? []) openArtifactStore(store);
    const fn = (await THREAD_TASKS[task]()) as (input: unknown, progress: (value: number, details?: unknown) => void) => Promise<unknown>;
    let lastPost = 0;
    const result = await fn(input, (value, details) => {
      const now = Date.now();
      // Progress counters are throttled; details (a resume point) always go through.
      if (details !== undefined || now - lastPost >= 250) {
        lastPost = now;
        post({ id, type: 'progress', value, ...(details !== undefined ? { details } : {}) });
      }
    });
    post({ id, type: 'done', result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ id, type: 'error', name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  }
}

parentPort!.on('message', (request: ThreadRequest) => void run(request));
