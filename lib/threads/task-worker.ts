import { parentPort, workerData } from 'node:worker_threads';
import { THREAD_TASKS, type ThreadMessage, type ThreadTaskName } from './tasks';

/** Entry point of a task thread: runs one named task and posts progress and the result back. */
async function main(): Promise<void> {
  const { task, input } = workerData as { task: ThreadTaskName; input: unknown };
  const post = (message: ThreadMessage): void => parentPort!.postMessage(message);
  try {
    const fn = (await THREAD_TASKS[task]()) as (input: unknown, progress: (value: number) => void) => Promise<unknown>;
    let lastPost = 0;
    const result = await fn(input, (value) => {
      const now = Date.now();
      if (now - lastPost >= 250) {
        lastPost = now;
        post({ type: 'progress', value });
      }
    });
    post({ type: 'done', result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'error', name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  }
}

void main();
