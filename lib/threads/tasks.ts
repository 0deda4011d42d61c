import type { ArtifactStoreSettings } from '../artifacts/artifact-store';

/**
 * The CPU-heavy functions that run in worker threads, by name. Each is loaded lazily inside the
 * thread so that, say, an ingest thread never loads TensorFlow.js.
 */
export const THREAD_TASKS = {
  ingestPartition: async () => (await import('../data/ingest-partition.js')).ingestPartition,
  fitTransform: async () => (await import('../features/fit-transform.js')).fitTransform,
  applyTransform: async () => (await import('../features/apply-transform.js')).applyTransform,
  planFolds: async () => (await import('../features/fold-plan.js')).planFolds,
  trainEpoch: async () => (await import('../training/train-epoch.js')).trainEpoch,
  planTraining: async () => (await import('../training/plan-training.js')).planTraining,
  trainShards: async () => (await import('../training/train-shards.js')).trainShards,
  mergeRound: async () => (await import('../training/merge-round.js')).mergeRound,
  evaluateModel: async () => (await import('../evaluation/evaluate-model.js')).evaluateModel,
  evaluateShard: async () => (await import('../evaluation/evaluate-shard.js')).evaluateShard,
  mergeEvaluation: async () => (await import('../evaluation/merge-evaluation.js')).mergeEvaluation,
  permutationImportance: async () => (await import('../evaluation/permutation-importance.js')).permutationImportance,
  siteTransformStatistics: async () => (await import('../federated/federated-transform.js')).siteTransformStatistics,
  fitFederatedTransform: async () => (await import('../federated/federated-transform.js')).fitFederatedTransform,
  initGlobalModel: async () => (await import('../federated/global-model.js')).initGlobalModel,
  trainSiteRound: async () => (await import('../federated/site-training.js')).trainSiteRound,
  aggregateRound: async () => (await import('../federated/aggregate-round.js')).aggregateRound,
  evaluateAtSite: async () => (await import('../federated/site-evaluation.js')).evaluateAtSite,
} as const;

export type ThreadTaskName = keyof typeof THREAD_TASKS;

/**
 * Which tasks may share a thread: those of one group run one after another in a kept thread; a
 * task of no group gets a fresh thread, used once. TensorFlow.js keeps process-wide state (unique
 * layer and variable names, registered variables) that would make a checkpoint's bytes depend on
 * what the thread ran before, so training tasks never share. Evaluation only reads models and
 * scores rows, which that state does not change, so evaluation tasks share threads among
 * themselves (and keep the backend initialised), never with data or training tasks.
 */
export const THREAD_REUSE_GROUP: Readonly<Partial<Record<ThreadTaskName, 'data' | 'evaluation'>>> = {
  ingestPartition: 'data',
  fitTransform: 'data',
  applyTransform: 'data',
  planTraining: 'data',
  planFolds: 'data',
  mergeEvaluation: 'data',
  evaluateShard: 'evaluation',
  permutationImportance: 'evaluation',
  siteTransformStatistics: 'data',
  fitFederatedTransform: 'data',
  evaluateAtSite: 'evaluation',
};

type TaskFn<N extends ThreadTaskName> = Awaited<ReturnType<(typeof THREAD_TASKS)[N]>>;
export type ThreadTaskInput<N extends ThreadTaskName> = Parameters<TaskFn<N>>[0];
export type ThreadTaskOutput<N extends ThreadTaskName> = Awaited<ReturnType<TaskFn<N>>>;

/** What the caller sends a task thread. */
export interface ThreadRequest {
  id: number;
  task: ThreadTaskName;
  input: unknown;
  /** The s3:// artifact stores the caller has open, so the task resolves their URIs as the caller would. */
  stores?: ArtifactStoreSettings[];
}

/** What a task thread sends back, tagged with the request's id. */
export type ThreadMessage =
  | { id: number; type: 'progress'; value: number; details?: unknown }
  | { id: number; type: 'done'; result: unknown }
  | { id: number; type: 'error'; name: string; message: string; stack?: string };
