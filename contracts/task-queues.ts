/**
 * Worker pools and their task queues. Every worker and every workflow takes its queue from here.
 * A prefix (PIPEWRIGHT_QUEUE_PREFIX, read in lib/config.ts) lets several deployments share one
 * Temporal namespace.
 */
export const WORKER_POOLS = ['orchestrator', 'cpu', 'gpu', 'eval', 'deploy'] as const;
export type WorkerPool = (typeof WORKER_POOLS)[number];

export const DEFAULT_QUEUE_PREFIX = 'pipewright-';

/** Task queue of each pool, as the client hands them to a pipeline so workflow code reads no environment. */
export type PoolQueues = Record<WorkerPool, string>;

export function taskQueue(pool: WorkerPool, prefix: string = DEFAULT_QUEUE_PREFIX): string {
  return `${prefix}${pool}`;
}

export function poolQueues(prefix: string = DEFAULT_QUEUE_PREFIX): PoolQueues {
  return Object.fromEntries(WORKER_POOLS.map((pool) => [pool, taskQueue(pool, prefix)])) as PoolQueues;
}

/**
 * The activity groups, one per stage, and the pool that runs each. Workflows route a stage's
 * activities to this pool's queue; a pool's worker registers exactly the groups mapped to it.
 */
export const STAGE_POOL = {
  ingest: 'cpu',
  validate: 'cpu',
  transform: 'cpu',
  train: 'gpu',
  evaluate: 'eval',
  registry: 'deploy',
  deploy: 'deploy',
  monitor: 'eval',
  release: 'deploy',
  federate: 'cpu',
} as const satisfies Record<string, Exclude<WorkerPool, 'orchestrator'>>;
export type ActivityStage = keyof typeof STAGE_POOL;
export const ACTIVITY_STAGES = Object.keys(STAGE_POOL) as ActivityStage[];

/** The worker identity a pool process registers with, as the Web UI shows it: `gpu@host:pid`. */
export function workerIdentity(pool: WorkerPool, host: string, pid: number): string {
  return `${pool}@${host}:${pid}`;
}

/** The task queue a federated site's worker polls: its own, so only that site's worker runs its steps. */
export function siteTaskQueue(site: string, prefix: string = DEFAULT_QUEUE_PREFIX): string {
  return `${prefix}site-${site}`;
}
