import type { EvaluateInput, EvaluateResult } from '../contracts';
import type { ActivityDeps } from './support/activity-deps';
import { runTaskInActivity } from './support/run-task';

/** The evaluate stage: scores the held-out split in a worker thread. */
export function createEvaluateActivities(_deps: ActivityDeps) {
  return {
    async evaluateModel(input: EvaluateInput): Promise<EvaluateResult> {
      return runTaskInActivity('evaluateModel', input);
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
