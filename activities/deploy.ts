import { Context } from '@temporalio/activity';
import type { DeployInput, DeployResult } from '../contracts';
import { promoteToProduction } from '../lib/registry/model-registry';
import { requestReload } from '../lib/serving/reload-client';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** The deploy stage: promote a registered version and have the model server load it. */
export function createDeployActivities(deps: ActivityDeps) {
  return {
    /**
     * Promotes the version to production in the registry, then asks the model server to load it.
     * A server that is not running yet picks the production version up when it starts; a server
     * that answers but does not serve the version fails the activity, which retries.
     */
    async deployModel({ runId, reason, ...model }: DeployInput): Promise<DeployResult> {
      return runActivity(async () => {
        await promoteToProduction(db(deps), model.name, model.version, {
          actor: runId ? `run:${runId}` : 'pipeline',
          reason: reason ?? 'deployed by its training run',
        });
        const outcome = await requestReload(deps.serveUrl, model);
        if (!outcome.served) Context.current().log.warn(`${outcome.reason}; it will load the production version when it starts`);
        return { ...model, servedBy: outcome.served ? deps.serveUrl : null };
      });
    },
  };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;
