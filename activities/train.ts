import { Context } from '@temporalio/activity';
import type {
  MergeRoundInput,
  MergeRoundResult,
  PlanTrainingInput,
  TrainEpochInput,
  TrainEpochResult,
  TrainingPlan,
  TrainShardsHeartbeat,
  TrainShardsInput,
  TrainShardsResult,
} from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/**
 * The train stage on the gpu pool: a plan of the epochs, one worker's share of a data-parallel
 * round, and the round's join (weighted averaging, validation). Each runs in a fresh worker thread.
 */
export function createTrainActivities(deps: ActivityDeps) {
  return {
    async planTraining(input: PlanTrainingInput): Promise<TrainingPlan> {
      return runTaskInActivity('planTraining', input);
    },

    /** Resumes from the mid-epoch checkpoint in the last attempt's heartbeat, if it got that far. */
    async trainShards(input: TrainShardsInput): Promise<TrainShardsResult> {
      const ctx = Context.current();
      const resume = (ctx.info.heartbeatDetails as TrainShardsHeartbeat | undefined)?.resume;
      ctx.log.info('training round', {
        epoch: input.epoch,
        round: input.round,
        worker: input.worker,
        batches: `${input.fromBatch}..${input.toBatch}`,
        resumeAtBatch: resume?.nextBatch ?? null,
      });
      return runTaskInActivity('trainShards', { ...input, artifactStore: deps.artifactStore, ...(resume ? { resume } : {}) });
    },

    async mergeRound(input: MergeRoundInput): Promise<MergeRoundResult> {
      return runTaskInActivity('mergeRound', { ...input, artifactStore: deps.artifactStore });
    },

    /** A whole epoch on one worker: kept for training runs started before data-parallel epochs. */
    async trainEpoch(input: TrainEpochInput): Promise<TrainEpochResult> {
      Context.current().log.info('training epoch', { epoch: input.epoch, resumeFrom: input.from?.uri ?? null });
      return runTaskInActivity('trainEpoch', { ...input, artifactStore: deps.artifactStore });
    },
  };
}

export type TrainActivities = ReturnType<typeof createTrainActivities>;
