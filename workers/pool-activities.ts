import { ACTIVITY_STAGES, STAGE_POOL, type ActivityStage, type WorkerPool } from '../contracts';
import { createDeployActivities } from '../activities/deploy';
import { createEvaluateActivities } from '../activities/evaluate';
import { createFederateActivities } from '../activities/federate';
import { createIngestActivities } from '../activities/ingest';
import { createMonitorActivities } from '../activities/monitor';
import { createRegistryActivities } from '../activities/registry';
import { createReleaseActivities } from '../activities/release';
import type { ActivityDeps } from '../activities/support/activity-deps';
import { createTrainActivities } from '../activities/train';
import { createTransformActivities } from '../activities/transform';
import { createValidateActivities } from '../activities/validate';

type ActivityFunctions = Record<string, (...args: never[]) => Promise<unknown>>;

/** Each stage's activities. Which pool runs a stage is STAGE_POOL's to say (contracts/task-queues.ts). */
const STAGE_ACTIVITIES: Record<ActivityStage, (deps: ActivityDeps) => ActivityFunctions> = {
  ingest: createIngestActivities,
  validate: createValidateActivities,
  transform: createTransformActivities,
  train: createTrainActivities,
  evaluate: createEvaluateActivities,
  registry: createRegistryActivities,
  deploy: createDeployActivities,
  monitor: createMonitorActivities,
  release: createReleaseActivities,
  federate: createFederateActivities,
};

/** The stages a pool runs: the groups STAGE_POOL maps to it. */
export function stagesOfPool(pool: WorkerPool): ActivityStage[] {
  return ACTIVITY_STAGES.filter((stage) => STAGE_POOL[stage] === pool);
}

/** Every activity a pool's worker registers, by name. */
export function activitiesOfPool(pool: WorkerPool, deps: ActivityDeps): ActivityFunctions {
  return activitiesOfStages(stagesOfPool(pool), deps, `the ${pool} pool`);
}

/** The activities of some stages, by name (a federated site runs ingest, validate and transform only). */
export function activitiesOfStages(stages: readonly ActivityStage[], deps: ActivityDeps, who = 'these stages'): ActivityFunctions {
  const activities: ActivityFunctions = {};
  for (const stage of stages) {
    for (const [name, fn] of Object.entries(STAGE_ACTIVITIES[stage](deps))) {
      if (name in activities) throw new Error(`activity ${name} is defined by two stages of ${who}`);
      activities[name] = fn;
    }
  }
  return activities;
}
