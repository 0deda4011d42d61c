import type { DatasetRef, RegisteredModel, RegisterInput, RunFinished, RunStarted, TransformRef } from '../contracts';
import { findProductionBaseline, type BaselineLookup } from '../lib/blessing/production-baseline';
import { storeSteps } from '../lib/cache/step-cache';
import { modelLineage } from '../lib/lineage/model-lineage';
import { registerModelVersion } from '../lib/registry/model-registry';
import { recordRunFinished, recordRunStarted } from '../lib/registry/run-log';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** The registry: run records and model versions with their lineage, in PostgreSQL. All idempotent. */
export function createRegistryActivities(deps: ActivityDeps) {
  return {
    async recordRunStarted(run: RunStarted): Promise<void> {
      return runActivity(() => recordRunStarted(db(deps), run));
    },

    async recordRunFinished(run: RunFinished): Promise<void> {
      return runActivity(() => recordRunFinished(db(deps), run));
    },

    /** Registers the run's model with its lineage (computed here: the spec hash and this worker's code version). */
    async registerModel(input: RegisterInput): Promise<RegisteredModel> {
      return runActivity(async () => {
        const lineage =
          input.lineage ?? modelLineage(input.spec, { datasetSha256: input.datasetSha256, transformSha256: input.transform.sha256 }, input.model.backend);
        const row = await registerModelVersion(db(deps), { ...input, lineage });
        await storeSteps(db(deps), input.runId, input.computedSteps);
        return { name: row.name, version: row.version };
      });
    },

    /** The production version of `name` to compare a candidate with, if there is one and it can be measured on this dataset. */
    async productionBaseline(input: { name: string; dataset: DatasetRef; transform: TransformRef }): Promise<BaselineLookup> {
      return runActivity(() => findProductionBaseline(db(deps), input.name, input.dataset, input.transform));
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
