import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { REUSABLE_THREAD_TASKS, type ThreadMessage, type ThreadRequest, type ThreadTaskInput, type ThreadTaskName, type ThreadTaskOutput } from './tasks';

/** An error thrown inside a task thread, with its original name (e.g. PipelineInputError) kept. */
export class ThreadTaskError extends Error {
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

/**
 * Task threads are kept and reused: starting one and loading Arrow and pg into it cost ~130 ms
 * per data activity. A thread runs one task at a time; idle ones do not keep the process alive.
 * A thread whose task is cancelled, or that dies, or that ran a model task (see
 * REUSABLE_THREAD_TASKS), is terminated and never reused.
 */
const idle: Worker[] = [];
let nextId = 1;

function takeThread(): Worker {
  const reused = idle.pop();
  if (reused) {
    reused.ref();
    return reused;
  }
  const worker = new Worker(path.join(__dirname, 'task-worker.js'), {
    // Tasks hold a few large batches at a time; allow more heap than Node's default.
    resourceLimits: { maxOldGenerationSizeMb: 4096 },
  });
  // A thread that fails while idle must not take the process down (an 'error' nobody listens to
  // would), and must not be handed out again.
  const forget = (): void => {
    const at = idle.indexOf(worker);
    if (at >= 0) idle.splice(at, 1);
  };
  worker.on('error', forget);
  worker.on('exit', forget);
  return worker;
}

function releaseThread(worker: Worker): void {
  worker.unref();
  idle.push(worker);
}

/**
 * Runs a CPU-heavy task in a worker thread so the calling process's event loop stays free
 * (Temporal heartbeats keep flowing). `onProgress` receives the task's progress counter.
 * `signal` terminates the thread, e.g. when the activity is cancelled.
 */
export function runInThread<N extends ThreadTaskName>(
  task: N,
  input: ThreadTaskInput<N>,
  onProgress: (value: number, details?: unknown) => void = () => undefined,
  signal?: AbortSignal,
): Promise<ThreadTaskOutput<N>> {
  return new Promise((resolve, reject) => {
    const reusable = REUSABLE_THREAD_TASKS.has(task);
    const worker = takeThread();
    const id = nextId++;
    let settled = false;
    const finish = (reuse: boolean, fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (reuse) releaseThread(worker);
      else void worker.terminate();
      fn();
    };
    const onAbort = (): void => finish(false, () => reject(signal?.reason ?? new Error(`${task} cancelled`)));
    const onMessage = (message: ThreadMessage): void => {
      if (message.id !== id) return;
      if (message.type === 'progress') onProgress(message.value, message.details);
      else if (message.type === 'done') finish(reusable, () => resolve(message.result as ThreadTaskOutput<N>));
      else finish(reusable, () => reject(new ThreadTaskError(message.name, message.message, message.stack)));
    };
    const onError = (err: Error): void => finish(false, () => reject(err));
    const onExit = (code: number): void => finish(false, () => reject(new Error(`${task} thread exited with code ${code} before finishing`)));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    const request: ThreadRequest = { id, task, input };
    worker.postMessage(request);
  });
}
