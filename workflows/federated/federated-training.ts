import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SiteActivities } from '../../activities/federated-site';
import {
  federatedProgressQuery,
  NON_RETRYABLE_ERROR_TYPES,
  PIPELINE_INPUT_ERROR,
  rootCauseMessage,
  WORKER_POOLS,
  type ArtifactRef,
  type CheckpointRef,
  type EvaluationMetrics,
  type FederatedProgress,
  type FederatedRound,
  type FederatedState,
  type FederatedTrainingInput,
  type FederatedTrainingResult,
  type MetricStateRef,
  type PoolQueues,
  type PreparedSite,
  type ShardRef,
  type SiteLeftOut,
  type TrainSiteRoundResult,
} from '../../contracts';
import { sitesForRound } from '../../contracts/federated-rounds';
import { HEADLINE_METRIC } from '../../contracts/metric-names';
import { ingestSource } from '../stages/ingest';
import { stageActivities } from '../support/stage-activities';
import type { StageHandle } from '../support/stage-tracker';

/** Rounds the run keeps a record of (the latest): the progress query and the result show these. */
export const ROUNDS_KEPT = 200;

/** Failure type of a round that got fewer usable updates than minSites under onShortRound "fail". */
export const FEDERATED_ROUND_FAILURE = 'FederatedRoundFailure';

const SITE_RETRY = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 3,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * Federated training: one model from the data of several sites, whose rows never leave them.
 *
 * 1. Prepare, at every site at once (its own task queue, its own database and store): ingest,
 *    validate, and one pass of mergeable transform statistics. A site that fails or does not finish
 *    within the round timeout × 6 is left out, naming why; fewer than minSites left fails the run.
 * 2. Agree the transform: the coordinator merges the statistics and fits once; each site encodes
 *    its shards with it.
 * 3. Rounds: the chosen sites (fraction, at least minSites, seeded) train localEpochs from the
 *    global weights and return an update; a site that fails or misses the round's deadline is left
 *    out of that round. The coordinator averages the updates (FedAvg by examples; FedProx the same
 *    with a proximal term at the sites; clipped and noised under differential privacy; a masked sum
 *    under secure aggregation, re-run among the sites that answered when one did not) and
 *    evaluates: each site scores its own test split and returns a mergeable metric state.
 *
 * Every round is a durable step: a coordinator that dies resumes at the step it was in, and the
 * run's weights do not depend on where it stopped. Long runs continue as new between rounds.
 */
export async function federatedTraining(input: FederatedTrainingInput): Promise<FederatedTrainingResult> {
  const { spec, federated: fed, queues, siteQueues } = input;
  const { workflowId: runId } = workflowInfo();
  const allSites = [...fed.sites, ...fed.evaluationSites];
  const trains = (site: string): boolean => fed.sites.includes(site);
  const progress: FederatedProgress = {
    pipeline: spec.name,
    phase: 'prepare',
    round: input.resume?.roundsDone ?? 0,
    rounds: fed.rounds,
    sites: Object.fromEntries(allSites.map((s) => [s, { status: 'preparing' as const }])),
    history: input.resume?.history ?? [],
    ...(input.resume?.privacy ? { privacy: input.resume.privacy } : {}),
  };
  setHandler(federatedProgressQuery, () => progress);
  const coordinator = stageActivities('federate', queues);
  const modelSpec = { ...spec.model, epochs: fed.rounds * fed.localEpochs };
  const seed = spec.model.seed;

  try {
    let state: FederatedState = input.resume ?? (await prepare());
    for (const s of state.sites) progress.sites[s.site] = { status: 'ready', rows: s.rows, trainRows: s.trainRows };
    for (const l of state.leftOut) progress.sites[l.site] = { status: 'left out', note: l.reason };
    progress.phase = 'train';

    let evaluation: Evaluation | undefined;
    while (state.roundsDone < fed.rounds) {
      const round = state.roundsDone;
      progress.round = round + 1;
      const record = await runRound(state, round);
      const last = round + 1 === fed.rounds;
      if (record.checkpoint) state = { ...state, global: record.checkpoint };
      if (record.privacy) state = { ...state, privacy: record.privacy };
      if (last || (round + 1) % fed.evaluateEvery === 0) {
        progress.phase = 'evaluate';
        evaluation = await evaluateEverywhere(state, state.global, last);
        progress.phase = 'train';
        if (evaluation) {
          record.entry.metric = evaluation.headline;
          record.entry.siteMetric = evaluation.siteHeadline;
          record.entry.leftOut.push(...evaluation.ignored);
        }
      }
      // The carried history is bounded, so a long run's continue-as-new input stays small.
      state = { ...state, roundsDone: round + 1, history: [...state.history, record.entry].slice(-ROUNDS_KEPT) };
      progress.history = state.history;
      if (state.privacy) progress.privacy = state.privacy;
      setCurrentDetails(roundDetails(record.entry, fed.rounds));
      if (!last && workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof federatedTraining>({ ...input, resume: state });
      }
    }
    evaluation ??= await evaluateEverywhere(state, state.global, true);
    if (!evaluation) throw new Error('the final evaluation produced no metrics');
    progress.phase = 'finished';
    return {
      runId,
      model: state.global,
      transform: state.transform,
      backend: state.backend,
      rounds: state.history,
      metrics: evaluation.metrics,
      report: evaluation.report,
      siteMetrics: evaluation.siteMetrics,
      sites: state.sites.map(({ encoded: _e, publicKey: _k, ...s }) => s),
      leftOut: state.leftOut,
      ...(state.privacy ? { privacy: state.privacy } : {}),
    };
  } catch (err) {
    // continueAsNew throws to end this run: not a failure.
    if (err instanceof ContinueAsNew) throw err;
    progress.phase = 'failed';
    progress.error = rootCauseMessage(err);
    if (isCancellation(err)) throw err;
    throw err instanceof ApplicationFailure ? err : ApplicationFailure.fromError(err, { nonRetryable: true });
  }

  /** Steps 1 and 2: every site's data ingested, validated and summarised; the transform agreed; every site's shards encoded. */
  async function prepare(): Promise<FederatedState> {
    const leftOut: SiteLeftOut[] = [];
    const prepareWithin = fed.roundTimeoutSeconds * 6 * 1000;
    const summarised = await settleEach(allSites, (site) => CancellationScope.withTimeout(prepareWithin, () => summariseSite(site)), leftOut, 'preparing');
    enough(summarised.filter((s) => trains(s.site)).length, 'prepare', leftOut);
    progress.phase = 'transform';
    // Only the training sites' statistics shape the transform: an evaluation site is held out entirely.
    const parts = summarised.flatMap((s) => (s.statistics ? [{ site: s.site, statistics: s.statistics }] : []));
    const transform = await coordinator.fitFederatedTransform.executeWithOptions(
      { summary: `fit the transform on the merged statistics of ${parts.length} sites` },
      [{ spec, parts }],
    );
    const encoded = await settleEach(
      summarised.map((s) => s.site),
      (site) => CancellationScope.withTimeout(prepareWithin, () => encodeSite(site)),
      leftOut,
      'encoding',
    );
    enough(encoded.filter((s) => trains(s.site)).length, 'encode', leftOut);
    const init = await coordinator.initGlobalModel.executeWithOptions({ summary: `initial ${spec.model.type} weights (seed ${seed})` }, [
      { model: modelSpec, transform },
    ]);
    return { transform, sites: encoded, leftOut, global: init.checkpoint, roundsDone: 0, history: [], backend: init.backend };

    async function encodeSite(site: string): Promise<PreparedSite> {
      const s = summarised.find((x) => x.site === site)!;
      const { applyTransform } = stageActivities('transform', sitePools(site));
      const shards = await Promise.all(
        s.shards.map((shard) => applyTransform.executeWithOptions({ summary: `site ${site}: encode shard ${shard.partition}` }, [{ transform, shard }])),
      );
      const prepared: PreparedSite = {
        site,
        rows: s.rows,
        trainRows: shards.reduce((n, e) => n + e.trainRows, 0),
        testRows: shards.reduce((n, e) => n + e.testRows, 0),
        encoded: shards,
        ...(s.publicKey ? { publicKey: s.publicKey } : {}),
      };
      progress.sites[site] = { status: 'ready', rows: s.rows, trainRows: prepared.trainRows };
      return prepared;
    }
  }

  async function summariseSite(site: string): Promise<SummarisedSite> {
    const pools = sitePools(site);
    const handle: StageHandle = { setTotal: () => undefined, tick: () => undefined, reused: () => undefined };
    const shards = await ingestSource(spec, pools, handle);
    const { dataset } = await stageActivities('validate', pools).checkDataset.executeWithOptions({ summary: `site ${site}: statistics and schema checks` }, [
      { runId, spec, shards, reuseSteps: false },
    ]);
    const base = { site, shards: dataset.shards, rows: dataset.rows };
    if (!trains(site)) return base;
    const steps = siteSteps(site, '1h');
    const { statistics } = await steps.siteTransformStatistics.executeWithOptions({ summary: `site ${site}: transform statistics of its train rows` }, [
      { runId, site, spec, shards: dataset.shards },
    ]);
    const publicKey = fed.secureAggregation ? (await steps.siteKeys({ runId, site })).publicKey : undefined;
    progress.sites[site] = { status: 'preparing', rows: dataset.rows, note: 'summarised' };
    return { ...base, statistics, ...(publicKey ? { publicKey } : {}) };
  }

  /** One round: train at the chosen sites, aggregate what came back in time, or fail/skip when too little did. */
  async function runRound(state: FederatedState, round: number) {
    const started = Date.now();
    const ready = state.sites.map((s) => s.site).filter(trains);
    const asked = sitesForRound({ sites: ready, fraction: fed.fraction, minSites: Math.min(fed.minSites, ready.length), seed, round });
    const leftOut: SiteLeftOut[] = [];
    let participants = asked;
    let answered: TrainSiteRoundResult[];
    let selfMaskSeeds: string[] | undefined;
    for (let attempt = 0; ; attempt++) {
      for (const site of participants) progress.sites[site] = { ...progress.sites[site]!, status: 'training' };
      const trainRowsOf = (site: string): number => state.sites.find((s) => s.site === site)!.trainRows;
      const participantRows = participants.reduce((n, s) => n + trainRowsOf(s), 0);
      const keys = participants.map((site) => ({ site, publicKey: state.sites.find((s) => s.site === site)!.publicKey ?? '' }));
      answered = await settleEach(
        participants,
        (site) => {
          const prepared = state.sites.find((s) => s.site === site)!;
          // Secure aggregation sums pre-weighted updates: FedAvg's example share, or DP's fixed 1/asked.
          const weight = fed.privacy ? 1 / asked.length : trainRowsOf(site) / participantRows;
          const answered = (): void => {
            progress.sites[site] = { ...progress.sites[site]!, status: 'ready' };
          };
          return siteSteps(site, `${fed.roundTimeoutSeconds}s`)
            .trainSiteRound.executeWithOptions(
              { summary: `round ${round + 1}/${fed.rounds} at site ${site}: ${fed.localEpochs} local epoch${fed.localEpochs === 1 ? '' : 's'}` },
              [
                {
                  runId,
                  site,
                  round,
                  model: modelSpec,
                  transform: state.transform,
                  shards: prepared.encoded,
                  global: state.global,
                  localEpochs: fed.localEpochs,
                  ...(fed.strategy.kind === 'fedProx' ? { proximalMu: fed.strategy.mu } : {}),
                  ...(fed.privacy ? { clipNorm: fed.privacy.clipNorm } : {}),
                  ...(fed.secureAggregation ? { secure: { weight, participants: keys, attempt } } : {}),
                },
              ],
            )
            .finally(answered);
        },
        leftOut,
        `round ${round + 1}`,
      );
      if (!fed.secureAggregation || answered.length < fed.minSites) break;
      // Every masked update of this attempt is in: each participant now reveals its self mask (double masking).
      if (answered.length === participants.length) {
        const before = leftOut.length;
        const revealed = await settleEach(
          participants,
          (site) =>
            siteSteps(site, `${fed.roundTimeoutSeconds}s`).revealSelfMask.executeWithOptions({ summary: `round ${round + 1}: self mask of site ${site}` }, [
              { runId, site, round, attempt },
            ]),
          leftOut,
          `round ${round + 1}, revealing its self mask`,
        );
        if (revealed.length === participants.length) {
          selfMaskSeeds = revealed.map((r) => r.seed);
          break;
        }
        const silent = new Set(leftOut.slice(before).map((l) => l.site));
        answered = answered.filter((a) => !silent.has(a.site));
        if (answered.length < fed.minSites) break;
      }
      // A masked sum needs every participant's update and self mask: run the round again, masked afresh, among those that answered.
      participants = answered.map((a) => a.site);
    }
    const entry: FederatedRound = { round: round + 1, asked, used: [], leftOut, examples: 0, seconds: 0 };
    let checkpoint: CheckpointRef | null = null;
    let privacy: FederatedState['privacy'];
    let usable = answered.length;
    if (answered.length >= fed.minSites) {
      const aggregated = await coordinator.aggregateRound.executeWithOptions(
        {
          summary: `round ${round + 1}: aggregate ${answered.length} update${answered.length === 1 ? '' : 's'}${fed.secureAggregation ? ' (masked sum)' : ''}`,
        },
        [
          {
            runId,
            round,
            global: state.global,
            updates: answered.map((a) => ({ site: a.site, update: a.update, length: a.length, examples: a.examples })),
            asked: asked.length,
            minSites: fed.minSites,
            secure: fed.secureAggregation,
            ...(selfMaskSeeds ? { selfMaskSeeds } : {}),
            serverLearningRate: fed.serverLearningRate,
            seed,
            ...(fed.privacy ? { privacy: { ...fed.privacy, samplingRate: asked.length / ready.length, roundsSoFar: state.privacy?.rounds ?? 0 } } : {}),
          },
        ],
      );
      leftOut.push(...aggregated.leftOut);
      usable -= aggregated.leftOut.length;
      checkpoint = aggregated.checkpoint;
      if (checkpoint) {
        const used = answered.filter((a) => aggregated.used.includes(a.site));
        const examples = used.reduce((n, a) => n + a.examples, 0);
        Object.assign(entry, {
          used: aggregated.used,
          examples,
          loss: used.reduce((n, a) => n + a.lossSum, 0) / Math.max(1, examples),
          updateNorm: aggregated.updateNorm,
        });
        if (fed.privacy && aggregated.privacy) {
          privacy = {
            ...aggregated.privacy,
            noiseMultiplier: fed.privacy.noiseMultiplier,
            clipNorm: fed.privacy.clipNorm,
            rounds: (state.privacy?.rounds ?? 0) + 1,
          };
        }
      }
    }
    if (!checkpoint) {
      const why = `round ${round + 1}: ${usable} usable update${usable === 1 ? '' : 's'} of ${asked.length} asked, minSites is ${fed.minSites}${describeLeftOut(leftOut)}`;
      if (fed.onShortRound === 'fail') throw ApplicationFailure.nonRetryable(why, FEDERATED_ROUND_FAILURE);
      entry.skipped = why;
    }
    entry.seconds = (Date.now() - started) / 1000;
    return { entry, checkpoint, privacy };
  }

  /** The model at every ready site's test split, merged at the coordinator; sites that fail are noted, not fatal, unless none answers. */
  async function evaluateEverywhere(state: FederatedState, model: CheckpointRef, final: boolean): Promise<Evaluation | undefined> {
    const ignored: SiteLeftOut[] = [];
    const results = await settleEach(
      state.sites.map((s) => s.site),
      (site) =>
        siteSteps(site, `${fed.roundTimeoutSeconds}s`).evaluateAtSite.executeWithOptions(
          { summary: `site ${site}: evaluate the global model on its test split` },
          [{ runId, site, siteIndex: allSites.indexOf(site), model, transform: state.transform, shards: state.sites.find((s) => s.site === site)!.encoded }],
        ),
      ignored,
      'evaluating',
    );
    if (results.length === 0) {
      if (final) throw ApplicationFailure.nonRetryable(`no site could evaluate the final model${describeLeftOut(ignored)}`, PIPELINE_INPUT_ERROR);
      return undefined;
    }
    const states: MetricStateRef[] = results.map((r) => r.state).sort((a, b) => a.partition - b.partition);
    const merged = await stageActivities('evaluate', queues).mergeEvaluation.executeWithOptions(
      { summary: `merge the metric states of ${results.length} sites` },
      [{ transform: state.transform, states, slices: [] }],
    );
    const name = HEADLINE_METRIC[merged.metrics.task ?? 'binary'];
    const value = (m: EvaluationMetrics): number => (m as unknown as Record<string, number>)[name] ?? Number.NaN;
    return {
      ignored,
      metrics: merged.metrics,
      report: merged.report,
      siteMetrics: Object.fromEntries(results.map((r) => [r.site, r.metrics])),
      headline: { name, value: value(merged.metrics) },
      siteHeadline: Object.fromEntries(results.map((r) => [r.site, value(r.metrics)])),
    };
  }

  /** Runs `step` at each site side by side; a site whose step fails is recorded in `leftOut` with the reason and dropped. */
  async function settleEach<T>(sites: string[], step: (site: string) => Promise<T>, leftOut: SiteLeftOut[], doing: string): Promise<T[]> {
    const settled = await Promise.allSettled(sites.map((site) => step(site)));
    const kept: T[] = [];
    settled.forEach((outcome, i) => {
      const site = sites[i]!;
      if (outcome.status === 'fulfilled') kept.push(outcome.value);
      else {
        if (isCancellation(outcome.reason) && !isTimeout(outcome.reason) && CancellationScope.current().consideredCancelled) throw outcome.reason;
        const reason = `${doing}: ${describeFailure(outcome.reason)}`;
        leftOut.push({ site, reason });
        if (doing === 'preparing' || doing === 'encoding') progress.sites[site] = { status: 'left out', note: reason };
      }
    });
    return kept;
  }

  function enough(count: number, what: string, leftOut: SiteLeftOut[]): void {
    if (count >= fed.minSites) return;
    throw ApplicationFailure.nonRetryable(
      `only ${count} of ${fed.sites.length} training sites could ${what} their data, and minSites is ${fed.minSites}${describeLeftOut(leftOut)}`,
      PIPELINE_INPUT_ERROR,
    );
  }

  function sitePools(site: string): PoolQueues {
    const queue = siteQueues[site];
    if (!queue) throw ApplicationFailure.nonRetryable(`site "${site}" has no task queue in the run's input`, PIPELINE_INPUT_ERROR);
    return Object.fromEntries(WORKER_POOLS.map((pool) => [pool, queue])) as PoolQueues;
  }

  function siteSteps(site: string, within: string) {
    // scheduleToClose bounds the whole step, retries and time in the site's queue included: a site whose worker is gone misses the round.
    return proxyActivities<SiteActivities>({
      taskQueue: sitePools(site).cpu,
      scheduleToCloseTimeout: within,
      heartbeatTimeout: '30s',
      retry: SITE_RETRY,
    });
  }
}

/** A site after ingest and validation; a training site also with its transform statistics (and key). */
interface SummarisedSite {
  site: string;
  shards: ShardRef[];
  rows: number;
  statistics?: ArtifactRef;
  publicKey?: string;
}

interface Evaluation {
  /** Sites that could not evaluate this time, and why. */
  ignored: SiteLeftOut[];
  metrics: EvaluationMetrics;
  report: FederatedTrainingResult['report'];
  siteMetrics: Record<string, EvaluationMetrics>;
  headline: { name: string; value: number };
  siteHeadline: Record<string, number>;
}

function isTimeout(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) if (e.name === 'TimeoutFailure') return true;
  return false;
}

function describeFailure(err: unknown): string {
  // A step past its scheduleToClose fails with a timeout; a prepare step past its scope's deadline is cancelled.
  if (isTimeout(err) || isCancellation(err)) return 'no answer before the deadline';
  return rootCauseMessage(err);
}

function describeLeftOut(leftOut: SiteLeftOut[]): string {
  return leftOut.length === 0 ? '' : `; left out: ${leftOut.map((l) => `${l.site} (${l.reason})`).join('; ')}`;
}

function roundDetails(entry: FederatedRound, rounds: number): string {
  const metric = entry.metric ? `, ${entry.metric.name} ${entry.metric.value.toFixed(4)}` : '';
  const status = entry.skipped ? `skipped: ${entry.skipped}` : `sites ${entry.used.join(', ')}${metric}`;
  return `**Round ${entry.round}/${rounds}**: ${status}`;
}
