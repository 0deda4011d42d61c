import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ThreadMessage, ThreadTaskInput, ThreadTaskName, ThreadTaskOutput } from './tasks';

/** An error thrown inside a task thread, with its original name (e.g. PipelineInputError) kept. */
export class ThreadTaskError extends Error {
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

/**
 * Runs a CPU-heavy task in its own worker thread so the calling process's event loop stays free
 * (Temporal heartbeats keep flowing). `onProgress` receives the task's progress counter.
 * `signal` terminates the thread, e.g. when the activity is cancelled.
 */
export function runInThread<N extends ThreadTaskName>(
  task: N,
  input: ThreadTaskInput<N>,
  onProgress: (value: number) => void = () => undefined,
  signal?: AbortSignal,
): Promise<ThreadTaskOutput<N>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'task-worker.js'), {
      workerData: { task, input },
      // Tasks hold a few large batches at a time; allow more heap than Node's default.
      resourceLimits: { maxOldGenerationSizeMb: 4096 },
    });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = (): void => finish(() => reject(signal?.reason ?? new Error(`${task} cancelled`)));
    signal?.addEventListener('abort', onAbort);
    worker.on('message', (message: ThreadMessage) => {
      if (message.type === 'progress') onProgress(message.value);
      else if (message.type === 'done') finish(() => resolve(message.result as ThreadTaskOutput<N>));
      else finish(() => reject(new ThreadTaskError(message.name, message.message, message.stack)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`${task} thread exited with code ${code} before finishing`))));
  });
}
