import type { ApplyTransformInput, EncodedShardRef, FitTransformInput, TransformRef } from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/** The transform stage: fit on the train split once, apply to every shard. Both run in worker threads. */
export function createTransformActivities(deps: ActivityDeps) {
  return {
    async fitTransform({ spec, dataset }: FitTransformInput): Promise<TransformRef> {
      return runTaskInActivity('fitTransform', { artifactRoot: deps.artifactRoot, spec, shards: dataset.shards });
    },

    async applyTransform({ transform, shard }: ApplyTransformInput): Promise<EncodedShardRef> {
      return runTaskInActivity('applyTransform', { artifactRoot: deps.artifactRoot, transform, shard });
    },
  };
}

export type TransformActivities = ReturnType<typeof createTransformActivities>;
