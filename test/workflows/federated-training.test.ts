/**
 * federatedTraining on a local dev server with fake activities: a coordinator (the workflows on its
 * orchestrator queue, its steps on its cpu and eval queues) and one worker per site on
 * `<prefix>site-<name>`. The rounds (who is asked, what is aggregated), a site that misses a round's
 * deadline or fails, short rounds (fail or skip), a site that cannot prepare its data, secure
 * aggregation's self masks and re-runs (a site that fails to train or to reveal its self mask),
 * evaluation-only sites, a site that fails an evaluation, partial participation, a coordinator
 * worker killed mid-round, history replay, and continue-as-new between rounds.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  federatedProgressQuery,
  PIPELINE_INPUT_ERROR,
  type AggregateRoundInput,
  type EvaluateAtSiteInput,
  type FederatedRound,
  type FederatedTrainingInput,
  type FederatedTrainingResult,
  type FitFederatedTransformInput,
  type InitGlobalModelInput,
  type MergeEvaluationInput,
  type RevealSelfMaskInput,
  type SiteKeysInput,
  type TrainSiteRoundInput,
} from '../../contracts';
import { sitesForRound } from '../../contracts/federated-rounds';
import type { FederatedSpec } from '../../lib/spec/federated-spec';
import type { federatedTraining } from '../../workflows';
import { FEDERATED_ROUND_FAILURE } from '../../workflows/federated/federated-training';
import {
  expectedModels,
  fakeMergedAuc,
  fakeRoundLoss,
  fakeSelfMaskSeed,
  fakeSiteAuc,
  federatedSpec,
  fingerprint,
  never,
  PARTITIONS,
  rowsPerShardAt,
  TEST_ROWS_PER_SHARD,
  trainRowsAt,
  untilCancelled,
  updateName,
  UPDATE_LENGTH,
  withFederation,
  type ExpectedRound,
  type FakeName,
  type FedCall,
  type Federation,
  type FederationOptions,
} from './federated-fakes';
import { artifact, eventually, FAKE_BACKEND, gate, scheduledActivities, startTestEnvironment, useWorkflowEnvironment } from './helpers';

const suite = useWorkflowEnvironment();

type Handle = WorkflowHandle<typeof federatedTraining>;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The example's three sites, in spec order (their index sets their rows: 500, 700, 900). */
const SITES = ['west', 'central', 'east'];
const ALL: ExpectedRound = { used: SITES };

const inputsOf = <T>(calls: FedCall[], name: FakeName): T[] => calls.filter((c) => c.name === name).map((c) => c.input as T);
const roundOf = (c: FedCall): number => (c.input as { round: number }).round;
const fake = (name: string): string => artifact(name).uri;
/** The index of a site in the spec (training sites, then evaluation-only ones): what its rows, its auc and its evaluation partition follow. */
const indexIn = (spec: FederatedSpec, site: string): number => [...spec.federated.sites, ...spec.federated.evaluationSites].indexOf(site);

/**
 * Waits for a run's state to reach a condition, polling, with a deadline generous enough for a
 * loaded machine: progress is asserted once it has settled, never at one instant.
 */
function until<T>(what: string, probe: () => Promise<T>, predicate: (value: T) => boolean): Promise<T> {
  return eventually(what, probe, predicate, 60_000);
}

/** Runs `body` with a federation for `spec`; the federation's calls and workers are the test's own. */
function federation<T>(
  spec: FederatedSpec,
  options: FederationOptions,
  body: (f: Federation) => Promise<T>,
  env: TestWorkflowEnvironment = suite.env,
): Promise<T> {
  return withFederation(env, suite.bundle, spec, options, body);
}

/** The failure a run failed with (the workflow's own ApplicationFailure). */
async function failureOf(handle: Handle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** A result without what differs between two runs of the same input: the run's id and the rounds' wall-clock seconds. */
function comparable(result: FederatedTrainingResult): unknown {
  return { ...result, runId: '(run)', rounds: result.rounds.map((r) => ({ ...r, seconds: 0 })) };
}

/** Each scheduled activity's type and summary, in history order. */
function summaries(events: HistoryEvent[]): Array<[string, string]> {
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    const summary = e.userMetadata?.summary ? (defaultPayloadConverter.fromPayload(e.userMetadata.summary) as string) : '';
    return [[a.activityType!.name!, summary] as [string, string]];
  });
}

/** The run's current details (setCurrentDetails), as the Web UI reads them. */
async function currentDetails(handle: Handle): Promise<string> {
  return (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
}

/** A round record as the fakes make it when every site in `used` answered and its update counted. */
function usedRound(spec: FederatedSpec, round: number, asked: string[], used: string[], leftOut: FederatedRound['leftOut'] = []): FederatedRound {
  const examples = used.reduce((n, s) => n + trainRowsAt(indexIn(spec, s)) * spec.federated.localEpochs, 0);
  return {
    round: round + 1,
    asked,
    used,
    leftOut,
    examples,
    loss: fakeRoundLoss(round),
    updateNorm: 0.25,
    seconds: expect.any(Number) as number,
  };
}

/** The evaluation the fakes give over `sites` (merged, and per site) when a round is evaluated. */
function evaluated(spec: FederatedSpec, sites: string[]): Pick<FederatedRound, 'metric' | 'siteMetric'> {
  return {
    metric: { name: 'auc', value: fakeMergedAuc(sites.map((s) => indexIn(spec, s))) },
    siteMetric: Object.fromEntries(sites.map((s) => [s, fakeSiteAuc(indexIn(spec, s))])),
  };
}

describe('federatedTraining (fake site and coordinator workers, local dev server)', () => {
  test('three sites, FedAvg, 3 rounds: every round asks every site, aggregates each update with its examples, and the progress and result tell it', async () => {
    const spec = federatedSpec({ rounds: 3 });
    expect(spec.federated).toMatchObject({ sites: SITES, minSites: 2, strategy: { kind: 'fedAvg' }, fraction: 1, localEpochs: 1, secureAggregation: false });
    const expected = expectedModels(spec, [ALL, ALL, ALL]);
    // Held: west's statistics (to see the prepare phase), east's round 2 (to see a round running) and
    // west's evaluation of round 2's model (to see an evaluation running).
    const statistics = gate();
    const round2 = gate();
    const evaluation2 = gate();
    const options: FederationOptions = {
      around: {
        siteTransformStatistics: (call, next) => (call.site === 'west' ? untilCancelled(statistics.promise).then(next) : next()),
        trainSiteRound: (call, next) => (call.site === 'east' && roundOf(call) === 1 ? untilCancelled(round2.promise).then(next) : next()),
        evaluateAtSite: (call, next) =>
          call.site === 'west' && (call.input as EvaluateAtSiteInput).model.uri === fake(expected.before[2]!)
            ? untilCancelled(evaluation2.promise).then(next)
            : next(),
      },
    };
    await federation(spec, options, async (fed) => {
      const handle = await fed.start();
      const runId = handle.workflowId;

      const preparing = await until(
        'central and east summarised while west is held',
        () => handle.query(federatedProgressQuery),
        (p) => p.sites.central?.note === 'summarised' && p.sites.east?.note === 'summarised',
      );
      expect(preparing).toEqual({
        pipeline: 'flights_federated',
        phase: 'prepare',
        round: 0,
        rounds: 3,
        sites: {
          west: { status: 'preparing' },
          central: { status: 'preparing', rows: PARTITIONS * rowsPerShardAt(1), note: 'summarised' },
          east: { status: 'preparing', rows: PARTITIONS * rowsPerShardAt(2), note: 'summarised' },
        },
        history: [],
      });
      statistics.open();

      // Round 2 with east held: a site shows training until its own step settles, then ready, while the round waits for east.
      // (West and central answer at their own pace: the test waits for both rather than looking once.)
      const siteState = (site: string, status: string) => ({
        status,
        rows: PARTITIONS * rowsPerShardAt(indexIn(spec, site)),
        trainRows: trainRowsAt(indexIn(spec, site)),
      });
      const training = await until(
        'round 2 running, west and central done, east held',
        () => handle.query(federatedProgressQuery),
        (p) =>
          p.round === 2 &&
          fed.callsOf(runId, 'trainSiteRound').length === 6 &&
          p.sites.east?.status === 'training' &&
          p.sites.west?.status === 'ready' &&
          p.sites.central?.status === 'ready',
      );
      expect(training.phase).toBe('train');
      expect(training.rounds).toBe(3);
      expect(training.sites).toEqual({ west: siteState('west', 'ready'), central: siteState('central', 'ready'), east: siteState('east', 'training') });
      expect(training.history).toEqual([{ ...usedRound(spec, 0, SITES, SITES), ...evaluated(spec, SITES) }]);
      expect(await currentDetails(handle)).toBe(`**Round 1/3**: sites west, central, east, auc ${fakeMergedAuc([0, 1, 2]).toFixed(4)}`);
      // East stays training for as long as its step is held.
      expect((await handle.query(federatedProgressQuery)).sites.east?.status).toBe('training');
      round2.open();

      // Round 2's model being evaluated (west held): the phase says so, every site is ready, round 2 is not in the history yet.
      const evaluating = await until(
        "round 2's evaluation running, west held",
        () => handle.query(federatedProgressQuery),
        (p) => p.phase === 'evaluate',
      );
      expect(evaluating).toMatchObject({ phase: 'evaluate', round: 2, rounds: 3 });
      expect(evaluating.sites).toEqual(Object.fromEntries(SITES.map((s) => [s, siteState(s, 'ready')])));
      expect(evaluating.history).toHaveLength(1);
      evaluation2.open();

      const result = await handle.result();
      const rounds = [0, 1, 2].map((r) => ({ ...usedRound(spec, r, SITES, SITES), ...evaluated(spec, SITES) }));
      const finalStates = SITES.map((s) => fake(`state-${s}-${expected.final}`));
      expect(result).toEqual<FederatedTrainingResult>({
        runId,
        model: { ...artifact(expected.final), epoch: 3 },
        transform: { ...artifact('transform(west+central+east)'), inputDim: 12, trainRows: 0 },
        backend: FAKE_BACKEND,
        rounds,
        metrics: { task: 'binary', auc: fakeMergedAuc([0, 1, 2]), logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: 3 * PARTITIONS * TEST_ROWS_PER_SHARD },
        report: artifact(`evaluation-${fingerprint(finalStates.join(','))}`),
        siteMetrics: Object.fromEntries(
          SITES.map((s, i) => [
            s,
            { task: 'binary', auc: fakeSiteAuc(i), logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: PARTITIONS * TEST_ROWS_PER_SHARD },
          ]),
        ),
        sites: SITES.map((site, i) => ({
          site,
          rows: PARTITIONS * rowsPerShardAt(i),
          trainRows: trainRowsAt(i),
          testRows: PARTITIONS * TEST_ROWS_PER_SHARD,
        })),
        leftOut: [],
      });
      expect(result.rounds.every((r) => r.seconds >= 0)).toBe(true);

      const calls = fed.callsOf(runId);
      // Nothing failed, nothing was retried; without secure aggregation no site is asked for a key or a self mask.
      expect(calls.every((c) => c.attempt === 1)).toBe(true);
      expect(calls.some((c) => c.name === 'siteKeys' || c.name === 'revealSelfMask')).toBe(false);
      // Prepare at each site, on its own worker: plan, 2 partitions, checks, statistics (no keys without secure aggregation).
      for (const site of SITES) {
        expect(calls.filter((c) => c.site === site && c.name !== 'trainSiteRound' && c.name !== 'evaluateAtSite').map((c) => c.name)).toEqual([
          'planIngest',
          'ingestPartition',
          'ingestPartition',
          'checkDataset',
          'siteTransformStatistics',
          'applyTransform',
          'applyTransform',
        ]);
      }
      // Then the coordinator's transform (over every site's statistics, in spec order) and initial model (epochs = rounds × localEpochs).
      expect(inputsOf<FitFederatedTransformInput>(calls, 'fitFederatedTransform')).toEqual([
        { spec: spec.pipeline, parts: SITES.map((site) => ({ site, statistics: artifact(`statistics-${site}`) })) },
      ]);
      expect(inputsOf<InitGlobalModelInput>(calls, 'initGlobalModel').map((i) => [i.model.epochs, i.transform.uri])).toEqual([
        [3, fake('transform(west+central+east)')],
      ]);

      // The steps in order: per round, every site trains, then one aggregation, then every site evaluates and the coordinator merges.
      const steps = calls.map((c) => c.name).filter((n) => ['trainSiteRound', 'aggregateRound', 'evaluateAtSite', 'mergeEvaluation'].includes(n));
      expect(steps).toEqual(
        [0, 1, 2].flatMap(() => [...SITES.map(() => 'trainSiteRound'), 'aggregateRound', ...SITES.map(() => 'evaluateAtSite'), 'mergeEvaluation']),
      );
      const rounds0to2 = [0, 1, 2];
      for (const round of rounds0to2) {
        const trained = calls.filter((c) => c.name === 'trainSiteRound' && roundOf(c) === round);
        // Each site's round ran on its own worker, from the model the previous round ended with, on its own encoded shards.
        expect(trained.map((c) => c.site).sort()).toEqual([...SITES].sort());
        for (const c of trained) {
          const input = c.input as TrainSiteRoundInput;
          expect(input.site).toBe(c.site);
          expect(input).toMatchObject({ runId, round, localEpochs: 1, global: { uri: fake(expected.before[round]!) } });
          expect(input.model.epochs).toBe(3);
          expect(input.shards.map((s) => [s.partition, s.trainRows])).toEqual([
            [0, rowsPerShardAt(indexIn(spec, c.site!)) - TEST_ROWS_PER_SHARD],
            [1, rowsPerShardAt(indexIn(spec, c.site!)) - TEST_ROWS_PER_SHARD],
          ]);
          expect(input).not.toHaveProperty('secure');
          expect(input).not.toHaveProperty('proximalMu');
          expect(input).not.toHaveProperty('clipNorm');
        }
      }
      // aggregateRound hears each site's update with its examples, in spec order.
      expect(inputsOf<AggregateRoundInput>(calls, 'aggregateRound')).toEqual(
        rounds0to2.map((round) => ({
          runId,
          round,
          global: { ...artifact(expected.before[round]!), epoch: round },
          updates: SITES.map((site, i) => ({
            site,
            update: artifact(updateName(site, round, expected.before[round]!)),
            length: UPDATE_LENGTH,
            examples: trainRowsAt(i),
          })),
          asked: 3,
          minSites: 2,
          secure: false,
          serverLearningRate: 1,
          seed: 7,
        })),
      );
      // Each site scores its own test split as its partition of the merged evaluation.
      const evaluations = inputsOf<EvaluateAtSiteInput>(calls, 'evaluateAtSite');
      expect(evaluations.filter((e) => e.model.uri === fake(expected.final)).map((e) => [e.site, e.siteIndex])).toEqual(
        expect.arrayContaining(SITES.map((s, i) => [s, i])),
      );
      expect(inputsOf<MergeEvaluationInput>(calls, 'mergeEvaluation').map((m) => m.states.map((s) => s.partition))).toEqual([
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
      ]);

      const done = await handle.query(federatedProgressQuery);
      expect(done).toMatchObject({ phase: 'finished', round: 3, rounds: 3, history: result.rounds });
      expect(Object.values(done.sites).map((s) => s.status)).toEqual(['ready', 'ready', 'ready']);
      expect(done.error).toBeUndefined();
      expect(await currentDetails(handle)).toBe(`**Round 3/3**: sites west, central, east, auc ${fakeMergedAuc([0, 1, 2]).toFixed(4)}`);

      // What the Web UI lists: a summary for every step.
      const listed = summaries((await handle.fetchHistory()).events ?? []);
      expect(listed.filter(([type]) => type === 'fitFederatedTransform')).toEqual([
        ['fitFederatedTransform', 'fit the transform on the merged statistics of 3 sites'],
      ]);
      expect(listed.filter(([type]) => type === 'initGlobalModel')).toEqual([['initGlobalModel', 'initial mlp weights (seed 7)']]);
      expect(listed.filter(([type]) => type === 'aggregateRound').map(([, s]) => s)).toEqual([1, 2, 3].map((r) => `round ${r}: aggregate 3 updates`));
      expect(listed.filter(([type]) => type === 'trainSiteRound').map(([, s]) => s)).toEqual(
        [1, 2, 3].flatMap((r) => SITES.map((site) => `round ${r}/3 at site ${site}: 1 local epoch`)),
      );
      expect(listed.filter(([type]) => type === 'mergeEvaluation').map(([, s]) => s)).toEqual([1, 2, 3].map(() => 'merge the metric states of 3 sites'));
      expect(
        listed
          .filter(([type]) => type === 'siteTransformStatistics')
          .map(([, s]) => s)
          .sort(),
      ).toEqual(SITES.map((site) => `site ${site}: transform statistics of its train rows`).sort());
      expect(listed.every(([, s]) => s.length > 0)).toBe(true);
    });
  });

  test('a site that never answers its round-2 training is left out of that round at the deadline; the run goes on with it in round 3', async () => {
    const spec = federatedSpec({ rounds: 3, minSites: 2, roundTimeoutSeconds: 3 });
    const options: FederationOptions = {
      around: { trainSiteRound: (call, next) => (call.site === 'east' && roundOf(call) === 1 ? never() : next()) },
    };
    await federation(spec, options, async (fed) => {
      const handle = await fed.start();
      const result = await handle.result();
      const expected = expectedModels(spec, [ALL, { used: ['west', 'central'] }, ALL]);
      expect(result.model.uri).toBe(fake(expected.final));
      expect(result.rounds).toEqual([
        { ...usedRound(spec, 0, SITES, SITES), ...evaluated(spec, SITES) },
        {
          ...usedRound(spec, 1, SITES, ['west', 'central'], [{ site: 'east', reason: 'round 2: no answer before the deadline' }]),
          ...evaluated(spec, SITES),
        },
        { ...usedRound(spec, 2, SITES, SITES), ...evaluated(spec, SITES) },
      ]);
      // The round waited for the deadline, and not for east's step (which never ends): well under a minute, even on a loaded machine.
      expect(result.rounds[1]!.seconds).toBeGreaterThanOrEqual(2.9);
      expect(result.rounds[1]!.seconds).toBeLessThan(30);
      expect(result.leftOut).toEqual([]);
      const aggregated = inputsOf<AggregateRoundInput>(fed.callsOf(handle.workflowId), 'aggregateRound');
      expect(aggregated.map((a) => a.updates.map((u) => u.site))).toEqual([SITES, ['west', 'central'], SITES]);
      // East was asked once in round 2 (a deadline is not retried) and trained again in round 3 from the model round 2 made without it.
      const east = fed.callsOf(handle.workflowId, 'trainSiteRound').filter((c) => c.site === 'east');
      expect(east.map((c) => [roundOf(c), c.attempt])).toEqual([
        [0, 1],
        [1, 1],
        [2, 1],
      ]);
      expect((east[2]!.input as TrainSiteRoundInput).global.uri).toBe(fake(expected.before[2]!));
    });
  });

  test("a site whose worker is gone after round 1 misses every later round and the final evaluation; the run succeeds with the others' metrics", async () => {
    // Evaluated after the last round only, so the site is gone by the time anything but its rounds is asked of it.
    const spec = federatedSpec({ rounds: 3, minSites: 2, roundTimeoutSeconds: 3, evaluateEvery: 3 });
    let fed!: Federation;
    const options: FederationOptions = {
      around: {
        // Round 1's aggregation runs after every site answered round 1: east's worker stops then.
        aggregateRound: async (call, next) => {
          if (roundOf(call) === 0) await fed.stopSiteWorker('east');
          return next();
        },
      },
    };
    await federation(spec, options, async (f) => {
      fed = f;
      const handle = await fed.start();
      const result = await handle.result();
      const twoSites = ['west', 'central'];
      const gone = { site: 'east', reason: '' };
      const expected = expectedModels(spec, [ALL, { used: twoSites }, { used: twoSites }]);
      expect(result.model.uri).toBe(fake(expected.final));
      expect(result.rounds).toEqual([
        usedRound(spec, 0, SITES, SITES),
        usedRound(spec, 1, SITES, twoSites, [{ ...gone, reason: 'round 2: no answer before the deadline' }]),
        {
          ...usedRound(spec, 2, SITES, twoSites, [
            { ...gone, reason: 'round 3: no answer before the deadline' },
            // The final evaluation at the site that is gone times out too, and the round says so.
            { ...gone, reason: 'evaluating: no answer before the deadline' },
          ]),
          ...evaluated(spec, twoSites),
        },
      ]);
      // The final evaluation merged the two sites that answered.
      expect(Object.keys(result.siteMetrics)).toEqual(twoSites);
      expect(result.metrics).toMatchObject({ auc: fakeMergedAuc([0, 1]), rows: 2 * PARTITIONS * TEST_ROWS_PER_SHARD });
      // East's worker saw round 1 only.
      expect(
        fed
          .callsOf(handle.workflowId, 'trainSiteRound')
          .filter((c) => c.site === 'east')
          .map(roundOf),
      ).toEqual([0]);
      expect(
        fed
          .callsOf(handle.workflowId, 'evaluateAtSite')
          .map((c) => c.site)
          .sort(),
      ).toEqual(twoSites.sort());
    });
  });

  describe('fewer than minSites answer a round', () => {
    const crash = (call: FedCall, next: () => Promise<unknown>): Promise<unknown> =>
      roundOf(call) === 1 && call.site === 'central' ? Promise.reject(ApplicationFailure.nonRetryable('CUDA out of memory', 'SiteCrash')) : next();

    test('onShortRound "fail": the run fails with a FederatedRoundFailure naming the round, the counts and who was left out and why', async () => {
      const spec = federatedSpec({ rounds: 3, minSites: 2, roundTimeoutSeconds: 3, onShortRound: 'fail' });
      // Round 2: central crashes, east never answers; west alone is one update of three.
      const options: FederationOptions = {
        around: { trainSiteRound: (call, next) => (roundOf(call) === 1 && call.site === 'east' ? never() : crash(call, next)) },
      };
      await federation(spec, options, async (fed) => {
        const handle = await fed.start();
        const failure = await failureOf(handle);
        const message =
          'round 2: 1 usable update of 3 asked, minSites is 2; left out: central (round 2: CUDA out of memory); east (round 2: no answer before the deadline)';
        expect(failure.type).toBe(FEDERATED_ROUND_FAILURE);
        expect(failure.message).toBe(message);
        expect(failure.nonRetryable).toBe(true);
        // Round 1 was aggregated; round 2 never was, and nothing came after it.
        expect(inputsOf<AggregateRoundInput>(fed.callsOf(handle.workflowId), 'aggregateRound').map((a) => a.round)).toEqual([0]);
        expect(fed.callsOf(handle.workflowId, 'trainSiteRound').map(roundOf).sort()).toEqual([0, 0, 0, 1, 1, 1]);
        // A non-retryable crash is not retried.
        expect(fed.callsOf(handle.workflowId, 'trainSiteRound').every((c) => c.attempt === 1)).toBe(true);
        const progress = await handle.query(federatedProgressQuery);
        expect(progress).toMatchObject({ phase: 'failed', error: message, round: 2 });
        expect(progress.history).toHaveLength(1);
      });
    });

    test('onShortRound "skip": the round is recorded as skipped, the global model stays, and the later rounds go on from it', async () => {
      const spec = federatedSpec({ rounds: 3, minSites: 2, onShortRound: 'skip' });
      const options: FederationOptions = {
        around: {
          trainSiteRound: (call, next) =>
            roundOf(call) === 1 && call.site === 'east' ? Promise.reject(ApplicationFailure.nonRetryable('disk full', 'SiteCrash')) : crash(call, next),
        },
      };
      await federation(spec, options, async (fed) => {
        const handle = await fed.start();
        const result = await handle.result();
        const expected = expectedModels(spec, [ALL, null, ALL]);
        const skipped = 'round 2: 1 usable update of 3 asked, minSites is 2; left out: central (round 2: CUDA out of memory); east (round 2: disk full)';
        expect(result.rounds).toEqual([
          { ...usedRound(spec, 0, SITES, SITES), ...evaluated(spec, SITES) },
          {
            round: 2,
            asked: SITES,
            used: [],
            leftOut: [
              { site: 'central', reason: 'round 2: CUDA out of memory' },
              { site: 'east', reason: 'round 2: disk full' },
            ],
            skipped,
            examples: 0,
            seconds: expect.any(Number),
            ...evaluated(spec, SITES),
          },
          { ...usedRound(spec, 2, SITES, SITES), ...evaluated(spec, SITES) },
        ]);
        expect(result.model).toEqual({ ...artifact(expected.final), epoch: 3 });
        const calls = fed.callsOf(handle.workflowId);
        // No aggregation for the skipped round; round 3 trained from the model round 1 made.
        expect(inputsOf<AggregateRoundInput>(calls, 'aggregateRound').map((a) => [a.round, a.global.uri])).toEqual([
          [0, fake(expected.before[0]!)],
          [2, fake(expected.before[1]!)],
        ]);
        expect(expected.before[2]).toBe(expected.before[1]);
        expect(
          inputsOf<TrainSiteRoundInput>(calls, 'trainSiteRound')
            .filter((i) => i.round === 2)
            .map((i) => i.global.uri),
        ).toEqual(SITES.map(() => fake(expected.before[1]!)));
        // The skipped round's evaluation scored the unchanged model.
        const evaluatedModels = inputsOf<EvaluateAtSiteInput>(calls, 'evaluateAtSite').map((e) => e.model.uri);
        expect(evaluatedModels.filter((m) => m === fake(expected.before[1]!))).toHaveLength(2 * SITES.length);
        const history = (await handle.query(federatedProgressQuery)).history;
        expect(history[1]!.skipped).toBe(skipped);
      });
    });
  });

  describe('a site whose data cannot be prepared', () => {
    const missing = 'column "distance" is missing from table flights: add it, or remove the feature "distance"';
    const noDistance = (call: FedCall, next: () => Promise<unknown>): Promise<unknown> =>
      call.site === 'central' ? Promise.reject(ApplicationFailure.nonRetryable(missing, PIPELINE_INPUT_ERROR)) : next();

    test('is left out of the federation with its reason when enough sites remain; the others train', async () => {
      const spec = federatedSpec({ rounds: 2, minSites: 2 });
      await federation(spec, { around: { planIngest: noDistance } }, async (fed) => {
        const handle = await fed.start();
        const result = await handle.result();
        const two = ['west', 'east'];
        const reason = `preparing: ${missing}`;
        expect(result.leftOut).toEqual([{ site: 'central', reason }]);
        expect(result.sites.map((s) => s.site)).toEqual(two);
        const expected = expectedModels(spec, [{ used: two }, { used: two }]);
        expect(result.model.uri).toBe(fake(expected.final));
        expect(result.rounds).toEqual([0, 1].map((r) => ({ ...usedRound(spec, r, two, two), ...evaluated(spec, two) })));
        const calls = fed.callsOf(handle.workflowId);
        // Central's worker was asked to plan its ingest once (not retried) and nothing after.
        expect(calls.filter((c) => c.site === 'central').map((c) => [c.name, c.attempt])).toEqual([['planIngest', 1]]);
        expect(inputsOf<FitFederatedTransformInput>(calls, 'fitFederatedTransform')[0]!.parts.map((p) => p.site)).toEqual(two);
        expect(inputsOf<MergeEvaluationInput>(calls, 'mergeEvaluation').map((m) => m.states.map((s) => s.partition))).toEqual([
          [0, 2],
          [0, 2],
        ]);
        const progress = await handle.query(federatedProgressQuery);
        expect(progress.sites.central).toEqual({ status: 'left out', note: reason });
        expect(progress.sites.west?.status).toBe('ready');
      });
    });

    test("fails the run naming each site's reason when too few remain (a missing column at one, no answer before the deadline at another)", async () => {
      // Prepare's deadline is the round timeout × 6: 3 s.
      const spec = federatedSpec({ rounds: 2, minSites: 2, roundTimeoutSeconds: 0.5 });
      const options: FederationOptions = {
        around: { planIngest: noDistance, checkDataset: (call, next) => (call.site === 'east' ? never() : next()) },
      };
      await federation(spec, options, async (fed) => {
        const handle = await fed.start();
        const failure = await failureOf(handle);
        const message = `only 1 of 3 training sites could prepare their data, and minSites is 2; left out: central (preparing: ${missing}); east (preparing: no answer before the deadline)`;
        expect(failure.type).toBe(PIPELINE_INPUT_ERROR);
        expect(failure.message).toBe(message);
        const calls = fed.callsOf(handle.workflowId);
        expect(calls.some((c) => c.name === 'fitFederatedTransform' || c.name === 'initGlobalModel' || c.name === 'trainSiteRound')).toBe(false);
        const progress = await handle.query(federatedProgressQuery);
        expect(progress).toMatchObject({
          phase: 'failed',
          error: message,
          sites: {
            west: { status: 'preparing', note: 'summarised' },
            central: { status: 'left out', note: `preparing: ${missing}` },
            east: { status: 'left out', note: 'preparing: no answer before the deadline' },
          },
        });
      });
    });
  });

  test("secure aggregation: every participant's key, a weight summing to 1 and its self mask; a site that fails to train makes the round re-run among those that answered", async () => {
    const spec = federatedSpec({ rounds: 2, minSites: 2, secureAggregation: true });
    const options: FederationOptions = {
      around: {
        trainSiteRound: (call, next) =>
          roundOf(call) === 1 && call.site === 'east' ? Promise.reject(ApplicationFailure.nonRetryable('lost its connection', 'SiteCrash')) : next(),
      },
    };
    await federation(spec, options, async (fed) => {
      const handle = await fed.start();
      const result = await handle.result();
      const runId = handle.workflowId;
      const calls = fed.callsOf(runId);
      const two = ['west', 'central'];

      // Each site's key, asked once, for this run.
      expect(inputsOf<SiteKeysInput>(calls, 'siteKeys').sort((a, b) => a.site.localeCompare(b.site))).toEqual(
        [...SITES].sort().map((site) => ({ runId, site })),
      );
      const keysOf = (sites: string[]): Array<{ site: string; publicKey: string }> => sites.map((site) => ({ site, publicKey: `pk-${site}` }));
      const weightOf = (site: string, among: string[]): number =>
        trainRowsAt(indexIn(spec, site)) / among.reduce((n, s) => n + trainRowsAt(indexIn(spec, s)), 0);

      const trained = calls.filter((c) => c.name === 'trainSiteRound');
      // Round 1: every site once, masked with all three (attempt 0). Round 2: all three (attempt 0), then west and
      // central again, masked afresh with each other (attempt 1).
      const attemptOf = (c: FedCall): number => (c.input as TrainSiteRoundInput).secure!.attempt;
      expect(trained.map((c) => [roundOf(c), attemptOf(c), c.site, (c.input as TrainSiteRoundInput).secure!.participants.map((p) => p.site)])).toEqual(
        expect.arrayContaining([...SITES.map((s) => [0, 0, s, SITES]), ...SITES.map((s) => [1, 0, s, SITES]), ...two.map((s) => [1, 1, s, two])]),
      );
      expect(trained).toHaveLength(3 + 3 + 2);
      for (const [round, attempt, among] of [
        [0, 0, SITES],
        [1, 0, SITES],
        [1, 1, two],
      ] as const) {
        const inputs = trained
          .map((c) => c.input as TrainSiteRoundInput)
          .filter((i) => i.round === round && i.secure!.attempt === attempt)
          .sort((a, b) => indexIn(spec, a.site) - indexIn(spec, b.site));
        expect(inputs.map((i) => i.site)).toEqual(among);
        for (const i of inputs) {
          expect(i.secure!.participants).toEqual(keysOf([...among]));
          expect(i.secure!.weight).toBeCloseTo(weightOf(i.site, [...among]), 12);
        }
        expect(inputs.reduce((n, i) => n + i.secure!.weight, 0)).toBeCloseTo(1, 12);
      }

      // Self masks are asked for once every masked update of an attempt is in: round 1 attempt 0 (all three) and
      // round 2 attempt 1 (west and central). Round 2's first attempt never had all three, so no self mask of it left a site.
      const reveals = inputsOf<RevealSelfMaskInput>(calls, 'revealSelfMask');
      expect([...reveals].sort((a, b) => a.round - b.round || indexIn(spec, a.site) - indexIn(spec, b.site))).toEqual([
        ...SITES.map((site) => ({ runId, site, round: 0, attempt: 0 })),
        ...two.map((site) => ({ runId, site, round: 1, attempt: 1 })),
      ]);
      expect(calls.filter((c) => c.name === 'revealSelfMask').every((c) => c.site === (c.input as RevealSelfMaskInput).site)).toBe(true);

      // The order: an attempt's updates, then its self masks, then the join; the re-run after every first-try answer of round 2.
      const order = calls
        .filter((c) => c.name === 'trainSiteRound' || c.name === 'revealSelfMask' || c.name === 'aggregateRound')
        .map((c) => `${c.name}:${roundOf(c)}`);
      expect(order).toEqual([
        ...SITES.map(() => 'trainSiteRound:0'),
        ...SITES.map(() => 'revealSelfMask:0'),
        'aggregateRound:0',
        ...SITES.map(() => 'trainSiteRound:1'),
        ...two.map(() => 'trainSiteRound:1'),
        ...two.map(() => 'revealSelfMask:1'),
        'aggregateRound:1',
      ]);

      // The coordinator summed only the re-run's masked updates, and took out the self mask of every update it summed.
      const expected = expectedModels(spec, [
        { used: SITES, maskedWith: SITES, attempt: 0 },
        { used: two, maskedWith: two, attempt: 1 },
      ]);
      const aggregated = inputsOf<AggregateRoundInput>(calls, 'aggregateRound');
      expect(aggregated.map((a) => [a.secure, a.updates.map((u) => u.update.uri), a.selfMaskSeeds])).toEqual([
        [true, SITES.map((s) => fake(updateName(s, 0, expected.before[0]!, SITES, 0))), SITES.map((s) => fakeSelfMaskSeed(s, 0, 0))],
        [true, two.map((s) => fake(updateName(s, 1, expected.before[1]!, two, 1))), two.map((s) => fakeSelfMaskSeed(s, 1, 1))],
      ]);
      expect(aggregated.every((a) => a.selfMaskSeeds!.every((seed) => /^[0-9a-f]{64}$/.test(seed)))).toBe(true);
      expect(result.model.uri).toBe(fake(expected.final));
      expect(result.rounds[1]).toEqual({
        ...usedRound(spec, 1, SITES, two, [{ site: 'east', reason: 'round 2: lost its connection' }]),
        ...evaluated(spec, SITES),
      });
      // The keys stay in the run's state, not its result.
      expect(result.sites.every((s) => !('publicKey' in s))).toBe(true);
      const listed = summaries((await handle.fetchHistory()).events ?? []);
      expect(listed.filter(([t]) => t === 'aggregateRound').map(([, s]) => s)).toEqual([
        'round 1: aggregate 3 updates (masked sum)',
        'round 2: aggregate 2 updates (masked sum)',
      ]);
      expect(listed.filter(([t]) => t === 'revealSelfMask').map(([, s]) => s)).toEqual(
        expect.arrayContaining([...SITES.map((s) => `round 1: self mask of site ${s}`), ...two.map((s) => `round 2: self mask of site ${s}`)]),
      );
    });
  });

  test('secure aggregation: a participant that does not reveal its self mask makes the round re-run (attempt 1, masked afresh) among the others', async () => {
    const spec = federatedSpec({ rounds: 2, minSites: 2, secureAggregation: true });
    const reason = 'its worker restarted without the run';
    const options: FederationOptions = {
      around: {
        revealSelfMask: (call, next) =>
          roundOf(call) === 0 && call.site === 'east' ? Promise.reject(ApplicationFailure.nonRetryable(reason, 'SiteCrash')) : next(),
      },
    };
    await federation(spec, options, async (fed) => {
      const handle = await fed.start();
      const result = await handle.result();
      const runId = handle.workflowId;
      const calls = fed.callsOf(runId);
      const two = ['west', 'central'];

      // Round 1: all three trained and were asked for their self masks; east did not reveal, so west and central
      // trained again among themselves (attempt 1) and revealed that attempt's masks. Round 2: all three again.
      const step = (c: FedCall): string => {
        const input = c.input as { round: number; attempt?: number; secure?: { attempt: number } };
        const attempt = input.attempt ?? input.secure?.attempt;
        return `${c.name}:r${input.round}${attempt === undefined ? '' : `:a${attempt}`}${c.site ? `@${c.site}` : ''}`;
      };
      const order = calls.filter((c) => ['trainSiteRound', 'revealSelfMask', 'aggregateRound'].includes(c.name));
      expect(order.map(step)).toEqual([
        ...SITES.map(() => expect.stringMatching(/^trainSiteRound:r0:a0@/)),
        ...SITES.map(() => expect.stringMatching(/^revealSelfMask:r0:a0@/)),
        ...two.map(() => expect.stringMatching(/^trainSiteRound:r0:a1@(west|central)$/)),
        ...two.map(() => expect.stringMatching(/^revealSelfMask:r0:a1@(west|central)$/)),
        'aggregateRound:r0',
        ...SITES.map(() => expect.stringMatching(/^trainSiteRound:r1:a0@/)),
        ...SITES.map(() => expect.stringMatching(/^revealSelfMask:r1:a0@/)),
        'aggregateRound:r1',
      ]);
      const rerun = inputsOf<TrainSiteRoundInput>(calls, 'trainSiteRound')
        .filter((i) => i.round === 0 && i.secure!.attempt === 1)
        .sort((a, b) => indexIn(spec, a.site) - indexIn(spec, b.site));
      expect(rerun.map((i) => [i.site, i.secure!.participants.map((p) => p.site)])).toEqual(two.map((s) => [s, two]));
      expect(rerun.reduce((n, i) => n + i.secure!.weight, 0)).toBeCloseTo(1, 12);
      // East was asked once for its self mask (the failure is not retried) and not again in round 1.
      expect(calls.filter((c) => c.name === 'revealSelfMask' && c.site === 'east').map((c) => [roundOf(c), c.attempt])).toEqual([
        [0, 1],
        [1, 1],
      ]);

      // The join summed the re-run's updates only, with their attempt-1 self masks: nothing of attempt 0 reached it.
      const expected = expectedModels(spec, [
        { used: two, maskedWith: two, attempt: 1 },
        { used: SITES, maskedWith: SITES, attempt: 0 },
      ]);
      const aggregated = inputsOf<AggregateRoundInput>(calls, 'aggregateRound');
      expect(aggregated.map((a) => [a.round, a.asked, a.updates.map((u) => u.update.uri), a.selfMaskSeeds])).toEqual([
        [0, 3, two.map((s) => fake(updateName(s, 0, expected.before[0]!, two, 1))), two.map((s) => fakeSelfMaskSeed(s, 0, 1))],
        [1, 3, SITES.map((s) => fake(updateName(s, 1, expected.before[1]!, SITES, 0))), SITES.map((s) => fakeSelfMaskSeed(s, 1, 0))],
      ]);
      expect(JSON.stringify(aggregated[0])).not.toContain(updateName('west', 0, expected.before[0]!, SITES, 0));
      expect(result.model.uri).toBe(fake(expected.final));
      expect(result.rounds).toEqual([
        { ...usedRound(spec, 0, SITES, two, [{ site: 'east', reason: `round 1, revealing its self mask: ${reason}` }]), ...evaluated(spec, SITES) },
        { ...usedRound(spec, 1, SITES, SITES), ...evaluated(spec, SITES) },
      ]);
      expect(result.leftOut).toEqual([]);
    });
  });

  test.each([false, true])(
    'evaluation-only sites (secure aggregation %s): prepared and evaluated every round, never asked to train, and their statistics do not shape the transform',
    async (secureAggregation) => {
      const spec = federatedSpec({ rounds: 2, minSites: 2, evaluationSites: ['holdout'], secureAggregation });
      expect(spec.federated).toMatchObject({ sites: SITES, evaluationSites: ['holdout'] });
      const everyone = [...SITES, 'holdout'];
      await federation(spec, {}, async (fed) => {
        const handle = await fed.start();
        const result = await handle.result();
        const runId = handle.workflowId;
        const calls = fed.callsOf(runId);
        const masked: ExpectedRound = secureAggregation ? { used: SITES, maskedWith: SITES, attempt: 0 } : ALL;
        const expected = expectedModels(spec, [masked, masked]);

        // The holdout ingests, validates and encodes its data with the agreed transform, and evaluates: nothing else.
        expect(calls.filter((c) => c.site === 'holdout').map((c) => c.name)).toEqual([
          'planIngest',
          'ingestPartition',
          'ingestPartition',
          'checkDataset',
          'applyTransform',
          'applyTransform',
          'evaluateAtSite',
          'evaluateAtSite',
        ]);
        // Only the training sites' statistics reach the transform fit.
        expect(inputsOf<FitFederatedTransformInput>(calls, 'fitFederatedTransform')).toEqual([
          { spec: spec.pipeline, parts: SITES.map((site) => ({ site, statistics: artifact(`statistics-${site}`) })) },
        ]);
        const transform = { ...artifact('transform(west+central+east)'), inputDim: 12, trainRows: 0 };
        expect(result.transform).toEqual(transform);
        // Each round asks the three training sites, and the join hears three updates of three asked.
        expect(result.rounds.map((r) => r.asked)).toEqual([SITES, SITES]);
        expect(inputsOf<TrainSiteRoundInput>(calls, 'trainSiteRound').map((i) => i.site)).not.toContain('holdout');
        expect(inputsOf<AggregateRoundInput>(calls, 'aggregateRound').map((a) => [a.asked, a.updates.map((u) => u.site)])).toEqual([
          [3, SITES],
          [3, SITES],
        ]);
        if (secureAggregation) {
          expect(inputsOf<TrainSiteRoundInput>(calls, 'trainSiteRound').every((i) => i.secure!.participants.every((p) => p.site !== 'holdout'))).toBe(true);
          expect(inputsOf<RevealSelfMaskInput>(calls, 'revealSelfMask').map((r) => r.site)).not.toContain('holdout');
          expect(inputsOf<SiteKeysInput>(calls, 'siteKeys').map((k) => k.site)).not.toContain('holdout');
        }
        expect(result.model.uri).toBe(fake(expected.final));

        // Every round's model is evaluated at the holdout too, as the last partition of the merged evaluation.
        const holdoutEvaluations = inputsOf<EvaluateAtSiteInput>(calls, 'evaluateAtSite').filter((e) => e.site === 'holdout');
        expect(holdoutEvaluations.map((e) => [e.siteIndex, e.model.uri, e.transform.uri, e.shards.length])).toEqual([
          [3, fake(expected.before[1]!), transform.uri, PARTITIONS],
          [3, fake(expected.final), transform.uri, PARTITIONS],
        ]);
        expect(inputsOf<MergeEvaluationInput>(calls, 'mergeEvaluation').map((m) => m.states.map((s) => s.partition))).toEqual([
          [0, 1, 2, 3],
          [0, 1, 2, 3],
        ]);
        expect(result.rounds).toEqual([0, 1].map((r) => ({ ...usedRound(spec, r, SITES, SITES), ...evaluated(spec, everyone) })));
        expect(result.metrics).toMatchObject({ auc: fakeMergedAuc([0, 1, 2, 3]), rows: 4 * PARTITIONS * TEST_ROWS_PER_SHARD });
        expect(Object.keys(result.siteMetrics)).toEqual(everyone);
        expect(result.sites).toEqual(
          everyone.map((site, i) => ({ site, rows: PARTITIONS * rowsPerShardAt(i), trainRows: trainRowsAt(i), testRows: PARTITIONS * TEST_ROWS_PER_SHARD })),
        );
        const progress = await handle.query(federatedProgressQuery);
        expect(progress.sites.holdout).toEqual({ status: 'ready', rows: PARTITIONS * rowsPerShardAt(3), trainRows: trainRowsAt(3) });
      });
    },
  );

  test("a site that fails a round's evaluation is named in that round's leftOut and left out of its metric; it trains and evaluates in the next round", async () => {
    const spec = federatedSpec({ rounds: 2, minSites: 2 });
    const reason = 'its test split could not be read';
    const options: FederationOptions = {
      around: {
        evaluateAtSite: (call, next) =>
          call.site === 'central' && (call.input as EvaluateAtSiteInput).model.uri === fake(expectedModels(spec, [ALL, ALL]).before[1]!)
            ? Promise.reject(ApplicationFailure.nonRetryable(reason, 'SiteCrash'))
            : next(),
      },
    };
    await federation(spec, options, async (fed) => {
      const handle = await fed.start();
      const result = await handle.result();
      const expected = expectedModels(spec, [ALL, ALL]);
      expect(result.model.uri).toBe(fake(expected.final));
      expect(result.rounds).toEqual([
        { ...usedRound(spec, 0, SITES, SITES, [{ site: 'central', reason: `evaluating: ${reason}` }]), ...evaluated(spec, ['west', 'east']) },
        { ...usedRound(spec, 1, SITES, SITES), ...evaluated(spec, SITES) },
      ]);
      expect(inputsOf<MergeEvaluationInput>(fed.callsOf(handle.workflowId), 'mergeEvaluation').map((m) => m.states.map((s) => s.partition))).toEqual([
        [0, 2],
        [0, 1, 2],
      ]);
      expect(result.leftOut).toEqual([]);
      expect(Object.keys(result.siteMetrics)).toEqual(SITES);
      expect(
        fed
          .callsOf(handle.workflowId, 'trainSiteRound')
          .filter((c) => c.site === 'central')
          .map(roundOf),
      ).toEqual([0, 1]);
    });
  });

  test('fraction 0.5 of 4 sites (minSites 2): each round asks 2 sites, chosen by the seed, the same in a second run, not always the same pair', async () => {
    const sites = ['north', 'south', 'east', 'west'];
    const spec = federatedSpec({ sites, rounds: 6, fraction: 0.5, minSites: 2, evaluateEvery: 6 });
    await federation(spec, {}, async (fed) => {
      const first = await fed.start();
      const second = await fed.start();
      const [a, b] = await Promise.all([first.result(), second.result()]);
      const chosen = (r: FederatedTrainingResult): string[][] => r.rounds.map((x) => x.asked);
      const expectedChoice = [0, 1, 2, 3, 4, 5].map((round) => sitesForRound({ sites, fraction: 0.5, minSites: 2, seed: spec.pipeline.model.seed, round }));
      expect(chosen(a)).toEqual(expectedChoice);
      expect(chosen(b)).toEqual(chosen(a));
      expect(chosen(a).every((asked) => asked.length === 2)).toBe(true);
      expect(new Set(chosen(a).map((asked) => asked.join('+'))).size).toBeGreaterThan(1);
      // Over 6 rounds every site took part at least once.
      expect(new Set(chosen(a).flat())).toEqual(new Set(sites));
      for (const run of [first, second]) {
        const trained = fed.callsOf(run.workflowId, 'trainSiteRound');
        for (let round = 0; round < 6; round++) {
          expect(
            trained
              .filter((c) => roundOf(c) === round)
              .map((c) => c.site)
              .sort(),
          ).toEqual([...expectedChoice[round]!].sort());
        }
        expect(inputsOf<AggregateRoundInput>(fed.callsOf(run.workflowId), 'aggregateRound').map((x) => x.asked)).toEqual([2, 2, 2, 2, 2, 2]);
      }
      const expected = expectedModels(
        spec,
        expectedChoice.map((used) => ({ used })),
      );
      expect(a.model.uri).toBe(fake(expected.final));
      expect(comparable(b)).toEqual(comparable(a));
      // Every site is evaluated, asked or not (after the last round only: evaluateEvery 6).
      expect(a.rounds.map((r) => r.metric !== undefined)).toEqual([false, false, false, false, false, true]);
      expect(Object.keys(a.siteMetrics)).toEqual(sites);
    });
  });

  test("the coordinator's workflow worker killed mid-round: a new worker resumes the run, which ends as an undisturbed run does; its history replays", async () => {
    const spec = federatedSpec({ rounds: 3 });
    const reached = gate();
    const release = gate();
    let disturbed = '';
    const options: FederationOptions = {
      around: {
        trainSiteRound: async (call, next) => {
          if (call.workflowId !== disturbed || call.site !== 'central' || roundOf(call) !== 1) return next();
          reached.open();
          await untilCancelled(release.promise);
          return next();
        },
      },
    };
    await federation(spec, options, async (fed) => {
      const undisturbed = await fed.start();
      const expectedResult = await undisturbed.result();

      const handle = await fed.start();
      disturbed = handle.workflowId;
      await reached.promise;
      // Round 2 is in flight at central: the coordinator's only workflow worker goes away.
      await fed.stopWorkflowWorker();
      expect((await handle.describe()).status.name).toBe('RUNNING');
      release.open();
      // Central's update reaches the server while no workflow worker is there to hear it.
      const trainSiteRoundsCompleted = (events: HistoryEvent[]): number => {
        const types = scheduledActivities(events);
        return events.filter(
          (e) => e.activityTaskCompletedEventAttributes && types.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) === 'trainSiteRound',
        ).length;
      };
      const history = await until(
        "central's round-2 answer in the history",
        async () => (await handle.fetchHistory()).events ?? [],
        (events) => trainSiteRoundsCompleted(events) === 6,
      );
      expect([...scheduledActivities(history).values()].filter((t) => t === 'aggregateRound')).toHaveLength(1);

      // A new worker with the same bundle picks the run up from its history.
      await fed.startWorkflowWorker();
      const result = await handle.result();
      expect(comparable(result)).toEqual(comparable(expectedResult));
      expect(result.model.uri).toBe(fake(expectedModels(spec, [ALL, ALL, ALL]).final));

      // Nothing ran twice: the same steps as the undisturbed run, each once.
      const steps = (workflowId: string): string[] =>
        fed
          .callsOf(workflowId)
          .map((c) => `${c.name}@${c.site ?? 'coordinator'}:${(c.input as { round?: number }).round ?? ''}:${c.attempt}`)
          .sort();
      expect(steps(handle.workflowId)).toEqual(steps(undisturbed.workflowId));

      for (const run of [undisturbed, handle]) {
        const recorded = await run.fetchHistory();
        await expect(Worker.runReplayHistory({ workflowBundle: suite.bundle }, recorded, run.workflowId)).resolves.toBeUndefined();
      }
    });
  });
});

/** Small enough that the coordinator is told to continue as new after every round. */
const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 10;

describe(`federatedTraining continues as new between rounds (server: limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS})`, () => {
  // A dev server of its own: the setting is server-wide. The bundle is the file's.
  let env!: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTestEnvironment(['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}`]);
  });
  afterAll(async () => {
    await env?.teardown();
  });

  interface Run {
    input: FederatedTrainingInput;
    continuedWith: FederatedTrainingInput | undefined;
    activities: Record<string, number>;
    history: temporal.api.history.v1.IHistory;
  }

  // Was test.failing while the workflow's catch block turned the ContinueAsNew that continueAsNew() throws into a
  // failure; the catch now rethrows it (c3f5f48).
  test('each round in a run of its own, from the state the previous run continued with; the same result as one run', async () => {
    const spec = federatedSpec({ rounds: 4, evaluateEvery: 2 });
    const expected = expectedModels(spec, [ALL, ALL, ALL, ALL]);
    const oneRun = await federation(spec, {}, async (fed) => (await fed.start()).result());

    await federation(
      spec,
      {},
      async (fed) => {
        const handle = await fed.start();
        const result = await handle.result();
        expect(comparable(result)).toEqual(comparable(oneRun));
        expect(result.runId).toBe(handle.workflowId);
        expect(result.model.uri).toBe(fake(expected.final));
        expect(result.rounds.map((r) => [r.round, r.used, r.metric !== undefined])).toEqual([
          [1, SITES, false],
          [2, SITES, true],
          [3, SITES, false],
          [4, SITES, true],
        ]);

        const runs: Run[] = [];
        for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
          const history: temporal.api.history.v1.IHistory = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
          const events: HistoryEvent[] = history.events ?? [];
          const started = events[0]!.workflowExecutionStartedEventAttributes!;
          const continued = events.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes;
          const activities: Record<string, number> = {};
          for (const type of scheduledActivities(events).values()) activities[type] = (activities[type] ?? 0) + 1;
          runs.push({
            input: defaultPayloadConverter.fromPayload(started.input!.payloads![0]!),
            continuedWith: continued ? defaultPayloadConverter.fromPayload(continued.input!.payloads![0]!) : undefined,
            activities,
            history,
          });
          runId = continued?.newExecutionRunId ?? undefined;
        }
        // One run per round: the first prepares and trains round 1; each next one resumes where the last stopped.
        expect(runs).toHaveLength(4);
        expect(runs[0]!.input.resume).toBeUndefined();
        expect(runs[0]!.activities).toMatchObject({ planIngest: 3, fitFederatedTransform: 1, initGlobalModel: 1, trainSiteRound: 3, aggregateRound: 1 });
        runs.forEach((run, i) => {
          expect(run.activities.trainSiteRound).toBe(3);
          expect(run.activities.aggregateRound).toBe(1);
          // Evaluated after rounds 2 and 4 (evaluateEvery 2).
          expect(run.activities.mergeEvaluation ?? 0).toBe(i % 2 === 1 ? 1 : 0);
          if (i === 0) return;
          expect(run.activities.planIngest ?? 0).toBe(0);
          expect(run.activities.fitFederatedTransform ?? 0).toBe(0);
          expect(run.activities.initGlobalModel ?? 0).toBe(0);
          const resume = run.input.resume!;
          expect(run.input).toEqual(runs[i - 1]!.continuedWith);
          expect(resume.roundsDone).toBe(i);
          expect(resume.global.uri).toBe(fake(expected.before[i]!));
          expect(resume.history.map((r) => r.round)).toEqual(Array.from({ length: i }, (_, r) => r + 1));
          expect(resume.sites.map((s) => s.site)).toEqual(SITES);
          expect(resume.transform.uri).toBe(fake('transform(west+central+east)'));
        });
        expect(runs[3]!.continuedWith).toBeUndefined();
        // Every run's history replays, the continue-as-new ones included.
        for (const run of runs) await expect(Worker.runReplayHistory({ workflowBundle: suite.bundle }, run.history)).resolves.toBeUndefined();

        // The progress of the last run shows every round, those of earlier runs included.
        const progress = await handle.query(federatedProgressQuery);
        expect(progress).toMatchObject({ phase: 'finished', round: 4, history: result.rounds });
        // No step ran twice across the runs.
        expect(fed.calls.filter((c) => c.name === 'trainSiteRound')).toHaveLength(12);
        expect(fed.calls.every((c) => c.attempt === 1)).toBe(true);
      },
      env,
    );
  });
});
