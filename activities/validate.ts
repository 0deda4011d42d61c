import type { CheckDatasetInput, DatasetRef } from '../contracts';
import { validateDataset } from '../lib/validation/validate-dataset';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** The validate stage: the dataset as a whole against the spec's thresholds, its schema and the last dataset. */
export function createValidateActivities(deps: ActivityDeps) {
  return {
    async checkDataset({ runId, spec, shards }: CheckDatasetInput): Promise<DatasetRef> {
      return runActivity(() => validateDataset({ pool: db(deps), artifactRoot: deps.artifactRoot, runId, spec, shards }));
    },
  };
}

export type ValidateActivities = ReturnType<typeof createValidateActivities>;
