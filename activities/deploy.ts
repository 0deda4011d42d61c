import { Context } from '@temporalio/activity';
import { promoteToProduction, registerModelVersion, type RegisterInput } from '../lib/registry/model-registry';
import { recordRunFinished, recordRunStarted, type RunRecord } from '../lib/registry/run-log';
import type { RegisteredModel } from '../lib/refs';
import { dbOf, type ActivityDeps } from './deps';

export interface DeployResult {
  name: string;
  version: number;
  /** Whether a running model server confirmed it now serves this version. */
  servedBy: string | null;
}

/** Activities of the deploy pool: run records, the model registry, deployment to the model server. */
export function createDeployActivities(deps: ActivityDeps) {
  return {
    async recordRunStarted(run: RunRecord): Promise<void> {
      await recordRunStarted(dbOf(deps), run);
    },

    async recordRunFinished(input: { runId: string; status: 'succeeded' | 'failed'; metrics: unknown; stageSeconds: Record<string, number> }): Promise<void> {
      await recordRunFinished(dbOf(deps), input.runId, input.status, input.metrics, input.stageSeconds);
    },

    async registerModel(input: RegisterInput): Promise<RegisteredModel> {
      const row = await registerModelVersion(dbOf(deps), input);
      return { name: row.name, version: row.version };
    },

    /**
     * Promotes the version to production in the registry, then asks the model server to load it.
     * A server that is not running yet picks the production version up when it starts; a server
     * that answers but does not serve the version fails the activity, which retries.
     */
    async deployModel(model: RegisteredModel): Promise<DeployResult> {
      await promoteToProduction(dbOf(deps), model.name, model.version);
      let response: Response;
      try {
        response = await fetch(`${deps.serveUrl}/admin/reload`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: model.name }),
          signal: AbortSignal.timeout(60_000),
        });
      } catch (err) {
        Context.current().log.warn('model server not reachable; it will load the production version when it starts', {
          serveUrl: deps.serveUrl,
          error: (err as Error).message,
        });
        return { ...model, servedBy: null };
      }
      const body = (await response.json()) as { loaded?: { version?: number } | null };
      if (!response.ok || body.loaded?.version !== model.version) {
        throw new Error(`model server at ${deps.serveUrl} did not load ${model.name} v${model.version}: HTTP ${response.status} ${JSON.stringify(body)}`);
      }
      return { ...model, servedBy: deps.serveUrl };
    },
  };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;
