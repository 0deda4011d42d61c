import { Context } from '@temporalio/activity';
import type {
  EvaluateAtSiteInput,
  EvaluateAtSiteResult,
  RevealSelfMaskInput,
  RevealSelfMaskResult,
  SiteKeysInput,
  SiteKeysResult,
  SiteStatisticsInput,
  SiteStatisticsResult,
  TrainSiteRoundInput,
  TrainSiteRoundResult,
} from '../contracts';
import type { ArtifactStoreSettings } from '../lib/artifacts/artifact-store';
import { PipelineInputError } from '../lib/errors';
import { siteKeyPair } from '../lib/federated/secure-aggregation';
import { runKeySeed, selfMaskSeed } from '../lib/federated/site-secret';
import type { ActivityDeps } from './support/activity-deps';
import { asTemporalFailure, runTaskInActivity } from './support/run-task';

/** A site's process: its own data and store (ActivityDeps), the coordinator's exchange store, and its key secret. */
export interface SiteDeps extends ActivityDeps {
  site: string;
  exchangeStore: ArtifactStoreSettings;
  keySecret: Buffer;
}

/**
 * What the coordinator asks of a site, on the site's own task queue. Each reads the site's data
 * from its own store and writes to the exchange store only what may leave: mergeable statistics,
 * a weight update, a metric state. (The site's worker also runs the ordinary ingest, validate and
 * transform activities against its own database and store.)
 */
export function createSiteActivities(deps: SiteDeps) {
  const stores = { artifactStore: deps.artifactStore, exchangeStore: deps.exchangeStore };
  const mine = (site: string): void => {
    if (site !== deps.site)
      throw asTemporalFailure(new PipelineInputError(`site "${deps.site}" was asked to act as site "${site}": check the site's --name and its task queue`));
  };
  return {
    async siteTransformStatistics(input: SiteStatisticsInput): Promise<SiteStatisticsResult> {
      mine(input.site);
      return runTaskInActivity('siteTransformStatistics', { ...input, ...stores });
    },

    /** The site's public key for a run; the private key is derived again whenever it is needed and never leaves. */
    async siteKeys(input: SiteKeysInput): Promise<SiteKeysResult> {
      mine(input.site);
      return { publicKey: siteKeyPair(Buffer.from(runKeySeed(deps.keySecret, input.runId), 'hex')).publicKey };
    },

    async trainSiteRound(input: TrainSiteRoundInput): Promise<TrainSiteRoundResult> {
      mine(input.site);
      const ctx = Context.current();
      ctx.log.info('federated round', { site: input.site, round: input.round + 1, localEpochs: input.localEpochs });
      try {
        return await runTaskInActivity('trainSiteRound', {
          ...input,
          ...stores,
          ...(input.secure ? { keySeed: runKeySeed(deps.keySecret, input.runId) } : {}),
        });
      } catch (err) {
        // The round's deadline passed (or the run moved on): whatever this site computed is not counted.
        if (ctx.cancellationSignal.aborted) {
          ctx.log.warn(`round ${input.round + 1} closed before site "${input.site}" answered; its update is discarded`, {
            reason: String(ctx.cancellationSignal.reason),
          });
        }
        throw err;
      }
    },

    /** Reveals the site's self mask for a round's attempt; the coordinator asks only once every participant's masked update is in. */
    async revealSelfMask(input: RevealSelfMaskInput): Promise<RevealSelfMaskResult> {
      mine(input.site);
      return { seed: selfMaskSeed(runKeySeed(deps.keySecret, input.runId), input.round, input.attempt) };
    },

    async evaluateAtSite(input: EvaluateAtSiteInput): Promise<EvaluateAtSiteResult> {
      mine(input.site);
      return runTaskInActivity('evaluateAtSite', { ...input, ...stores });
    },
  };
}

export type SiteActivities = ReturnType<typeof createSiteActivities>;
