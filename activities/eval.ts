import type { EvaluateInput } from '../lib/models/evaluate';
import type { EvaluationMetrics } from '../lib/refs';
import type { ActivityDeps } from './deps';
import { runTaskInActivity } from './run-task';

/** Activities of the eval pool: scoring held-out data. */
export function createEvalActivities(_deps: ActivityDeps) {
  return {
    async evaluateModel(input: EvaluateInput): Promise<EvaluationMetrics & { backend: string }> {
      return runTaskInActivity('evaluateModel', input);
    },
  };
}

export type EvalActivities = ReturnType<typeof createEvalActivities>;
