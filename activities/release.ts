import type { CandidateCheck, FinishRolloutInput, RolloutStats, SetRolloutInput } from '../contracts';
import { productionVersion, promoteToProduction, removeAlias, setAlias } from '../lib/registry/model-registry';
import { requestReload } from '../lib/serving/reload-client';
import { checkVersion, endServerRollout, serverRolloutStats, startServerRollout } from '../lib/serving/rollout-client';
import { db, type ActivityDeps } from './support/activity-deps';
import { runActivity } from './support/run-task';

/** The alias a challenger holds while it is rolled out: its moves are the release's record in the alias history. */
export const CANARY_ALIAS = 'canary';

/** The release stage (deploy pool): check a candidate, roll it out on the model server, promote it or roll it back. Each is idempotent. */
export function createReleaseActivities(deps: ActivityDeps) {
  return {
    /** Loads the version on the model server and has it answer a typical instance. */
    async checkCandidate({ model, version }: { model: string; version: number }): Promise<CandidateCheck> {
      return runActivity(() => checkVersion(deps.serveUrl, model, version));
    },

    /** Points the canary alias at the version (with who and why) and has the server route to it. */
    async startRollout(input: SetRolloutInput): Promise<RolloutStats> {
      return runActivity(async () => {
        const what =
          input.mode === 'canary'
            ? `canary: ${Math.round(input.share * 100)}% of live requests`
            : `shadow: scores ${Math.round(input.share * 100)}% of live requests beside production`;
        await setAlias(db(deps), { name: input.model, alias: CANARY_ALIAS, version: input.version, actor: input.actor, reason: `rollout started, ${what}` });
        return startServerRollout(deps.serveUrl, input.model, input.version, input.mode, input.share);
      });
    },

    /** The server's figures; a server that lost the rollout (it restarted) gets it again, counting from zero. */
    async rolloutStats(input: SetRolloutInput): Promise<RolloutStats> {
      return runActivity(async () => {
        const stats = await serverRolloutStats(deps.serveUrl, input.model);
        if (stats.active && stats.version === input.version && stats.mode === input.mode) return stats;
        return startServerRollout(deps.serveUrl, input.model, input.version, input.mode, input.share);
      });
    },

    /**
     * Promote: production moves to the version (the server loads it), then the rollout ends. Roll
     * back: the rollout ends and production stays. Either way the canary alias is removed with the
     * reason, so `pipewright models history <model> --alias canary` tells the release's story.
     */
    async finishRollout(input: FinishRolloutInput): Promise<{ production: number | null }> {
      return runActivity(async () => {
        const pool = db(deps);
        let production: number | null = null;
        if (input.outcome === 'promote') {
          const row = await promoteToProduction(pool, input.model, input.version, { actor: input.actor, reason: input.reason });
          production = row.version;
          await requestReload(deps.serveUrl, { name: input.model, version: input.version });
        }
        await endServerRollout(deps.serveUrl, input.model).catch(() => undefined);
        await removeAlias(pool, {
          name: input.model,
          alias: CANARY_ALIAS,
          actor: input.actor,
          reason: `${input.outcome === 'promote' ? 'promoted' : 'rolled back'}: ${input.reason}`,
        });
        if (production === null) {
          production = (await productionVersion(pool, input.model))?.version ?? null;
        }
        return { production };
      });
    },
  };
}

export type ReleaseActivities = ReturnType<typeof createReleaseActivities>;
