import type {
  EvaluateInput,
  EvaluateResult,
  EvaluateShardInput,
  EvaluateShardResult,
  ImportanceInput,
  ImportanceResult,
  MergeEvaluationInput,
  MergeEvaluationResult,
} from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/**
 * The evaluate stage, on the eval pool: each shard's test rows scored into a mergeable metric state,
 * the states merged into the metrics and the report, and permutation importance. All in worker
 * threads; all idempotent (content-addressed artifacts).
 */
export function createEvaluateActivities(deps: ActivityDeps) {
  return {
    /** The single-task evaluation of runs started before per-shard states; kept so they finish. */
    async evaluateModel(input: EvaluateInput): Promise<EvaluateResult> {
      return runTaskInActivity('evaluateModel', input);
    },

    async evaluateShard(input: EvaluateShardInput): Promise<EvaluateShardResult> {
      return runTaskInActivity('evaluateShard', { ...input, artifactStore: deps.artifactStore });
    },

    async mergeEvaluation(input: MergeEvaluationInput): Promise<MergeEvaluationResult> {
      return runTaskInActivity('mergeEvaluation', { ...input, artifactStore: deps.artifactStore });
    },

    async permutationImportance(input: ImportanceInput): Promise<ImportanceResult> {
      return runTaskInActivity('permutationImportance', { ...input, artifactStore: deps.artifactStore });
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
