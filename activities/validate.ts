import type { CheckDatasetInput, ValidatedDataset } from '../contracts';
import { planStepReuse } from '../lib/cache/step-reuse';
import { validateDataset } from '../lib/validation/validate-dataset';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** The validate stage: the dataset as a whole against the spec's thresholds, its schema and the last dataset. */
export function createValidateActivities(deps: ActivityDeps) {
  return {
    /** Validates the dataset, then looks up the steps after it that earlier runs already finished (the step cache). */
    async checkDataset({ runId, spec, shards, reuseSteps }: CheckDatasetInput): Promise<ValidatedDataset> {
      return runActivity(async () => {
        const dataset = await validateDataset({ pool: db(deps), artifactStore: deps.artifactStore, runId, spec, shards });
        return { dataset, steps: await planStepReuse(db(deps), dataset, spec, reuseSteps) };
      });
    },
  };
}

export type ValidateActivities = ReturnType<typeof createValidateActivities>;
