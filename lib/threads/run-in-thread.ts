import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { openedRemoteStores } from '../artifacts/artifact-store';
import { THREAD_REUSE_GROUP, type ThreadMessage, type ThreadRequest, type ThreadTaskInput, type ThreadTaskName, type ThreadTaskOutput } from './tasks';

/** An error thrown inside a task thread, with its original name (e.g. PipelineInputError) kept. */
export class ThreadTaskError extends Error {
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

/**
 * Task threads are kept and reused within their group (THREAD_REUSE_GROUP): starting one and
 * loading Arrow and pg into it cost ~130 ms per data activity, and a model task's thread also
 * initialises TensorFlow.js. A thread runs one task at a time; idle ones do not keep the process
 * alive. A thread whose task is cancelled, or that dies, or whose task has no group (training), is
 * terminated and never reused.
 */
type ReuseGroup = NonNullable<(typeof THREAD_REUSE_GROUP)[ThreadTaskName]>;
const idleByGroup = new Map<ReuseGroup, Worker[]>();
let nextId = 1;

function takeThread(group: ReuseGroup | undefined): Worker {
  const idle = group ? (idleByGroup.get(group) ?? []) : [];
  if (group) idleByGroup.set(group, idle);
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

function releaseThread(worker: Worker, group: ReuseGroup): void {
  worker.unref();
  idleByGroup.get(group)!.push(worker);
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
    const group = THREAD_REUSE_GROUP[task];
    const worker = takeThread(group);
    const id = nextId++;
    let settled = false;
    const finish = (reuse: boolean, fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (reuse && group) releaseThread(worker, group);
      else void worker.terminate();
      fn();
    };
    const onAbort = (): void => finish(false, () => reject(signal?.reason ?? new Error(`${task} cancelled`)));
    const onMessage = (message: ThreadMessage): void => {
      if (message.id !== id) return;
      if (message.type === 'progress') onProgress(message.value, message.details);
      else if (message.type === 'done') finish(true, () => resolve(message.result as ThreadTaskOutput<N>));
      else finish(true, () => reject(new ThreadTaskError(message.name, message.message, message.stack)));
    };
    const onError = (err: Error): void => finish(false, () => reject(err));
    const onExit = (code: number): void => finish(false, () => reject(new Error(`${task} thread exited with code ${code} before finishing`)));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    const stores = openedRemoteStores();
    const request: ThreadRequest = { id, task, input, ...(stores.length ? { stores } : {}) };
    worker.postMessage(request);
  });
}
