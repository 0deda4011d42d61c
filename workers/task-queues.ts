/**
 * Task queue names, one per worker pool. Every worker and every workflow takes its queue from here.
 * A prefix (PIPEWRIGHT_QUEUE_PREFIX) lets several deployments share one Temporal namespace.
 */
export const POOLS = ['orchestrator', 'cpu', 'gpu', 'eval', 'deploy'] as const;
export type Pool = (typeof POOLS)[number];

export function taskQueue(pool: Pool, prefix?: string): string {
  return `${prefix ?? defaultPrefix()}${pool}`;
}

function defaultPrefix(): string {
  return typeof process !== 'undefined' && process.env?.PIPEWRIGHT_QUEUE_PREFIX ? process.env.PIPEWRIGHT_QUEUE_PREFIX : 'pipewright-';
}

/** The worker identity a pool process registers with, as the Web UI shows it: `gpu@host:pid`. */
export function poolIdentity(pool: Pool, host: string, pid: number): string {
  return `${pool}@${host}:${pid}`;
}
