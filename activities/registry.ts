import type { RegisteredModel, RegisterInput, RunFinished, RunStarted } from '../contracts';
import { storeSteps } from '../lib/cache/step-cache';
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

    async registerModel(input: RegisterInput): Promise<RegisteredModel> {
      return runActivity(async () => {
        const row = await registerModelVersion(db(deps), input);
        await storeSteps(db(deps), input.runId, input.computedSteps);
        return { name: row.name, version: row.version };
      });
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
