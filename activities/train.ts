import { Context } from '@temporalio/activity';
import type { TrainEpochInput, TrainEpochResult } from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/** The train stage: one epoch per activity, from the previous epoch's checkpoint, in a fresh worker thread. */
export function createTrainActivities(deps: ActivityDeps) {
  return {
    async trainEpoch(input: TrainEpochInput): Promise<TrainEpochResult> {
      Context.current().log.info('training epoch', { epoch: input.epoch, resumeFrom: input.from?.uri ?? null });
      return runTaskInActivity('trainEpoch', { ...input, artifactRoot: deps.artifactRoot });
    },
  };
}

export type TrainActivities = ReturnType<typeof createTrainActivities>;
