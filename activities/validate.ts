import type { CheckDatasetInput, DatasetRef } from '../contracts';
import { checkDataset } from '../lib/validation/dataset-check';
import type { ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** The validate stage: the dataset as a whole against the spec's thresholds. */
export function createValidateActivities(_deps: ActivityDeps) {
  return {
    async checkDataset({ spec, shards }: CheckDatasetInput): Promise<DatasetRef> {
      return runActivity(async () => checkDataset(spec, shards));
    },
  };
}

export type ValidateActivities = ReturnType<typeof createValidateActivities>;
