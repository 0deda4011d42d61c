/**
 * The CPU-heavy functions that run in worker threads, by name. Each is loaded lazily inside the
 * thread so that, say, an ingest thread never loads TensorFlow.js.
 */
export const THREAD_TASKS = {
  ingestPartition: async () => (await import('../data/ingest-partition.js')).ingestPartition,
  fitTransform: async () => (await import('../features/fit-transform.js')).fitTransform,
  applyTransform: async () => (await import('../features/apply-transform.js')).applyTransform,
  trainEpoch: async () => (await import('../models/train-epoch.js')).trainEpoch,
  evaluateModel: async () => (await import('../models/evaluate.js')).evaluateModel,
} as const;

export type ThreadTaskName = keyof typeof THREAD_TASKS;
type TaskFn<N extends ThreadTaskName> = Awaited<ReturnType<(typeof THREAD_TASKS)[N]>>;
export type ThreadTaskInput<N extends ThreadTaskName> = Parameters<TaskFn<N>>[0];
export type ThreadTaskOutput<N extends ThreadTaskName> = Awaited<ReturnType<TaskFn<N>>>;

export type ThreadMessage =
  | { type: 'progress'; value: number }
  | { type: 'done'; result: unknown }
  | { type: 'error'; name: string; message: string; stack?: string };
