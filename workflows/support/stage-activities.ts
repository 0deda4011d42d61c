import { proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import type { DeployActivities } from '../../activities/deploy';
import type { EvaluateActivities } from '../../activities/evaluate';
import type { FederateActivities } from '../../activities/federate';
import type { IngestActivities } from '../../activities/ingest';
import type { MonitorActivities } from '../../activities/monitor';
import type { RegistryActivities } from '../../activities/registry';
import type { ReleaseActivities } from '../../activities/release';
import type { TrainActivities } from '../../activities/train';
import type { TransformActivities } from '../../activities/transform';
import type { ValidateActivities } from '../../activities/validate';
import { NON_RETRYABLE_ERROR_TYPES, STAGE_POOL, type ActivityStage, type PoolQueues } from '../../contracts';

/** Each stage's activity functions, as its activities module defines them. */
export interface StageActivities {
  ingest: IngestActivities;
  validate: ValidateActivities;
  transform: TransformActivities;
  train: TrainActivities;
  evaluate: EvaluateActivities;
  registry: RegistryActivities;
  deploy: DeployActivities;
  monitor: MonitorActivities;
  release: ReleaseActivities;
  federate: FederateActivities;
}

const RETRY = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 5,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * Every stage's activity options in one table; the queue is that of the pool STAGE_POOL names.
 * Activities heartbeat every 5 s from a free main thread while their work runs in threads, so a
 * missed 30 s heartbeat means the worker is gone and Temporal retries the step elsewhere.
 */
export const STAGE_ACTIVITY_OPTIONS: Record<ActivityStage, Omit<ActivityOptions, 'taskQueue'>> = {
  ingest: { startToCloseTimeout: '2h', heartbeatTimeout: '30s', retry: RETRY },
  validate: { startToCloseTimeout: '2h', heartbeatTimeout: '30s', retry: RETRY },
  transform: { startToCloseTimeout: '2h', heartbeatTimeout: '30s', retry: RETRY },
  train: { startToCloseTimeout: '6h', heartbeatTimeout: '30s', retry: RETRY },
  evaluate: { startToCloseTimeout: '2h', heartbeatTimeout: '30s', retry: RETRY },
  registry: { startToCloseTimeout: '5m', retry: RETRY },
  deploy: { startToCloseTimeout: '5m', retry: RETRY },
  monitor: { startToCloseTimeout: '10m', heartbeatTimeout: '30s', retry: RETRY },
  release: { startToCloseTimeout: '5m', retry: RETRY },
  federate: { startToCloseTimeout: '1h', heartbeatTimeout: '30s', retry: RETRY },
};

/** The activities of one stage, routed to its pool's queue with its options. */
export function stageActivities<S extends ActivityStage>(stage: S, queues: PoolQueues): ActivityInterfaceFor<StageActivities[S]> {
  return proxyActivities<StageActivities[S]>({ ...STAGE_ACTIVITY_OPTIONS[stage], taskQueue: queues[STAGE_POOL[stage]] });
}
