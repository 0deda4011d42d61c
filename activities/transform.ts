import type { ApplyTransformInput, EncodedShardRef, FitTransformInput, FoldPlan, PlanFoldsInput, TransformRef } from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/** The transform stage: fit on the train split once, apply to every shard. Both run in worker threads. */
export function createTransformActivities(deps: ActivityDeps) {
  return {
    async fitTransform({ spec, dataset, fold }: FitTransformInput): Promise<TransformRef> {
      return runTaskInActivity('fitTransform', { artifactStore: deps.artifactStore, spec, shards: dataset.shards, ...(fold ? { fold } : {}) });
    },

    async applyTransform({ transform, shard }: ApplyTransformInput): Promise<EncodedShardRef> {
      return runTaskInActivity('applyTransform', { artifactStore: deps.artifactStore, transform, shard });
    },

    /** Cross-validation's folds, cut once over the raw shards' row id and label columns (a task thread: hashing and one sort per class). */
    async planFolds({ spec, dataset, folds, stratify }: PlanFoldsInput): Promise<FoldPlan> {
      return runTaskInActivity('planFolds', { spec, shards: dataset.shards, folds, stratify });
    },
  };
}

export type TransformActivities = ReturnType<typeof createTransformActivities>;
