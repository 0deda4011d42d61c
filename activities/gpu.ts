import { Context } from '@temporalio/activity';
import type { TrainEpochInput, TrainEpochResult } from '../lib/models/train-epoch';
import type { ActivityDeps } from './deps';
import { runTaskInActivity } from './run-task';

/** Activities of the gpu pool: one training epoch per activity, checkpointed. */
export function createGpuActivities(deps: ActivityDeps) {
  return {
    async trainEpoch(input: Omit<TrainEpochInput, 'artifactRoot'>): Promise<TrainEpochResult> {
      Context.current().log.info('training epoch', { epoch: input.epoch, resumeFrom: input.from?.uri ?? null });
      return runTaskInActivity('trainEpoch', { ...input, artifactRoot: deps.artifactRoot });
    },
  };
}

export type GpuActivities = ReturnType<typeof createGpuActivities>;
