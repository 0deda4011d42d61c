import type {
  AggregateRoundInput,
  AggregateRoundResult,
  FitFederatedTransformInput,
  InitGlobalModelInput,
  InitGlobalModelResult,
  TransformRef,
} from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/**
 * The coordinator's side of federated training, on its cpu pool: the transform agreed from every
 * site's statistics, the global model's first weights, and each round's aggregation. They read
 * and write only the coordinator's store, where sites put statistics and updates.
 */
export function createFederateActivities(deps: ActivityDeps) {
  return {
    async fitFederatedTransform(input: FitFederatedTransformInput): Promise<TransformRef> {
      return runTaskInActivity('fitFederatedTransform', { ...input, artifactStore: deps.artifactStore });
    },

    async initGlobalModel(input: InitGlobalModelInput): Promise<InitGlobalModelResult> {
      return runTaskInActivity('initGlobalModel', { ...input, artifactStore: deps.artifactStore });
    },

    async aggregateRound(input: AggregateRoundInput): Promise<AggregateRoundResult> {
      return runTaskInActivity('aggregateRound', { ...input, artifactStore: deps.artifactStore });
    },
  };
}

export type FederateActivities = ReturnType<typeof createFederateActivities>;
