/**
 * A federation of fake workers for the federatedTraining tests: one Worker with the workflows on
 * the coordinator's orchestrator queue, one with its cpu steps (fitFederatedTransform,
 * initGlobalModel, aggregateRound), one with its eval step (mergeEvaluation), and one per site on
 * `<prefix>site-<name>` with everything a site runs (ingest, validate, encode, its statistics,
 * keys, rounds, self masks and evaluation). The fakes are small and deterministic: a site's update and the
 * aggregated model are named after what they were computed from, so a test can compute the final
 * model of a run from the rounds it expects.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  poolQueues,
  siteTaskQueue,
  type AggregateRoundInput,
  type AggregateRoundResult,
  type CheckpointRef,
  type EvaluateAtSiteInput,
  type EvaluateAtSiteResult,
  type EvaluationMetrics,
  type FederatedTrainingInput,
  type FitFederatedTransformInput,
  type InitGlobalModelInput,
  type InitGlobalModelResult,
  type MergeEvaluationInput,
  type MergeEvaluationResult,
  type RevealSelfMaskInput,
  type RevealSelfMaskResult,
  type SiteKeysInput,
  type SiteKeysResult,
  type SiteStatisticsInput,
  type SiteStatisticsResult,
  type TrainSiteRoundInput,
  type TrainSiteRoundResult,
  type TransformRef,
} from '../../contracts';
import { parseFederatedSpec, type FederatedSection, type FederatedSpec } from '../../lib/spec/federated-spec';
import type { federatedTraining } from '../../workflows';
import { artifact, FAKE_BACKEND, fakeActivities, uniqueName } from './helpers';

const FAKE_URI = 'file:///fake/';
/** An artifact's name in the fakes: its URI without the fake store's prefix. */
export const nameOf = (ref: { uri: string }): string => ref.uri.slice(FAKE_URI.length);

/** FNV-1a of a string, 8 hex digits: names the fakes' models and updates after what they came from. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** examples/flights-federated.json with overrides of its `federated` section, parsed as the client does. */
export function federatedSpec(federated: Partial<FederatedSection> & Record<string, unknown> = {}): FederatedSpec {
  const example = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights-federated.json'), 'utf8')) as { federated: object };
  return parseFederatedSpec({ ...example, federated: { ...example.federated, ...federated } });
}

// --- what the fakes compute, so a test can compute it too ---

/** Partitions the flights example ingests at every site. */
export const PARTITIONS = 2;
export const TEST_ROWS_PER_SHARD = 50;
/** Rows per ingested shard at the i-th site of the spec: 250, 350, 450 … (so sites weigh differently). */
export const rowsPerShardAt = (index: number): number => 250 + 100 * index;
/** Train rows of the i-th site (the helpers' applyTransform keeps 50 rows of each shard for testing). */
export const trainRowsAt = (index: number): number => PARTITIONS * (rowsPerShardAt(index) - TEST_ROWS_PER_SHARD);
export const INIT_MODEL = 'model-init';
export const UPDATE_LENGTH = 1000;
/** Mean training loss of round `round` (0-based) in the fakes. */
export const fakeRoundLoss = (round: number): number => 0.5 ** (round + 1);
/** The auc a site's own test split gives in the fakes (by its index in the spec). */
export const fakeSiteAuc = (index: number): number => 0.6 + 0.05 * index;

/**
 * The name of a site's update in a round, trained from `globalName`; under secure aggregation it
 * names who it is masked with and the round's attempt (0, then 1, 2, … when the round runs again).
 */
export function updateName(site: string, round: number, globalName: string, maskedWith?: string[], attempt = 0): string {
  return `update-${site}-r${round + 1}-${fingerprint(globalName)}${maskedWith ? `-masked(${maskedWith.join('+')})-a${attempt}` : ''}`;
}

/** The self-mask seed a site reveals in the fakes for a round's attempt: 32 bytes of hex, as a real site's. */
export function fakeSelfMaskSeed(site: string, round: number, attempt: number): string {
  return fingerprint(`self mask ${site} round ${round} attempt ${attempt}`).repeat(8);
}

/** The name of the global model after aggregating `updates` (name and examples) onto `globalName`. */
export function aggregateName(round: number, globalName: string, updates: ReadonlyArray<{ site: string; update: string; examples: number }>): string {
  return `model-r${round + 1}-${fingerprint(`${globalName}|${updates.map((u) => `${u.site}:${u.update}:${u.examples}`).join(',')}`)}`;
}

/** A round as a test expects it to be aggregated: the sites whose update counts (in spec order), who they were masked with and in which attempt. */
export interface ExpectedRound {
  used: string[];
  maskedWith?: string[];
  attempt?: number;
}

/**
 * The model the fakes end with when the rounds go as `rounds` says (null: the round changed nothing),
 * and the model each round started from.
 */
export function expectedModels(spec: FederatedSpec, rounds: Array<ExpectedRound | null>): { final: string; before: string[] } {
  const sites = spec.federated.sites;
  const examples = (site: string): number => trainRowsAt(sites.indexOf(site)) * spec.federated.localEpochs;
  let global = INIT_MODEL;
  const before: string[] = [];
  rounds.forEach((r, round) => {
    before.push(global);
    if (!r) return;
    const updates = r.used.map((site) => ({ site, update: updateName(site, round, global, r.maskedWith, r.attempt), examples: examples(site) }));
    global = aggregateName(round, global, updates);
  });
  return { final: global, before };
}

// --- the fakes ---

/** The fake activities by name; the site's come first, then the coordinator's. */
export const SITE_ACTIVITY_NAMES = [
  'planIngest',
  'ingestPartition',
  'checkDataset',
  'applyTransform',
  'siteTransformStatistics',
  'siteKeys',
  'trainSiteRound',
  'revealSelfMask',
  'evaluateAtSite',
] as const;
export const COORDINATOR_CPU_ACTIVITY_NAMES = ['fitFederatedTransform', 'initGlobalModel', 'aggregateRound'] as const;
export const COORDINATOR_EVAL_ACTIVITY_NAMES = ['mergeEvaluation'] as const;
export type FakeName =
  (typeof SITE_ACTIVITY_NAMES)[number] | (typeof COORDINATOR_CPU_ACTIVITY_NAMES)[number] | (typeof COORDINATOR_EVAL_ACTIVITY_NAMES)[number];

/** One activity call, in the order the workers started them. */
export interface FedCall {
  name: FakeName;
  /** The site whose worker ran it; null for the coordinator's workers. */
  site: string | null;
  /** The workflow id of the run that asked. */
  workflowId: string;
  input: unknown;
  attempt: number;
}

/** Wraps a fake: throw, wait or count before (or instead of) the default. */
export type Around = (call: FedCall, next: () => Promise<unknown>) => Promise<unknown>;

export interface FederationOptions {
  around?: Partial<Record<FakeName, Around>>;
}

/** Waits for `promise`, or fails the activity when it is cancelled (a worker shutting down cancels what it runs). */
export function untilCancelled<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, Context.current().cancelled]);
}

/** An activity that never answers (until its worker shuts down). */
export function never(): Promise<never> {
  return Context.current().cancelled;
}

function siteFakes(site: string, index: number): Record<(typeof SITE_ACTIVITY_NAMES)[number], (input: never) => Promise<unknown>> {
  const { activities } = fakeActivities({ rowsPerShard: rowsPerShardAt(index) });
  const mine = (asked: string): void => {
    if (asked !== site) throw ApplicationFailure.nonRetryable(`site "${site}" was asked to act as site "${asked}"`, 'PipelineInputError');
  };
  return {
    planIngest: activities.planIngest,
    ingestPartition: activities.ingestPartition,
    checkDataset: activities.checkDataset,
    applyTransform: activities.applyTransform,
    async siteTransformStatistics(input: SiteStatisticsInput): Promise<SiteStatisticsResult> {
      mine(input.site);
      return { statistics: artifact(`statistics-${site}`), rows: input.shards.reduce((n, s) => n + s.rows, 0) };
    },
    async siteKeys(input: SiteKeysInput): Promise<SiteKeysResult> {
      mine(input.site);
      return { publicKey: `pk-${site}` };
    },
    async trainSiteRound(input: TrainSiteRoundInput): Promise<TrainSiteRoundResult> {
      mine(input.site);
      const examples = input.shards.reduce((n, s) => n + s.trainRows, 0) * input.localEpochs;
      const name = updateName(
        site,
        input.round,
        nameOf(input.global),
        input.secure?.participants.map((p) => p.site),
        input.secure?.attempt,
      );
      return {
        site,
        round: input.round,
        update: artifact(name),
        length: UPDATE_LENGTH,
        examples,
        lossSum: fakeRoundLoss(input.round) * examples,
        seconds: 0.1,
        backend: FAKE_BACKEND,
      };
    },
    async revealSelfMask(input: RevealSelfMaskInput): Promise<RevealSelfMaskResult> {
      mine(input.site);
      return { seed: fakeSelfMaskSeed(site, input.round, input.attempt) };
    },
    async evaluateAtSite(input: EvaluateAtSiteInput): Promise<EvaluateAtSiteResult> {
      mine(input.site);
      const rows = input.shards.reduce((n, s) => n + s.testRows, 0);
      const metrics: EvaluationMetrics = { task: 'binary', auc: fakeSiteAuc(input.siteIndex), logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows };
      return {
        site,
        state: { ...artifact(`state-${site}-${nameOf(input.model)}`), partition: input.siteIndex, rows },
        metrics,
        backend: FAKE_BACKEND,
      };
    },
  };
}

const coordinatorCpuFakes = {
  async fitFederatedTransform({ parts }: FitFederatedTransformInput): Promise<TransformRef> {
    return { ...artifact(`transform(${parts.map((p) => p.site).join('+')})`), inputDim: 12, trainRows: 0 };
  },
  async initGlobalModel(_input: InitGlobalModelInput): Promise<InitGlobalModelResult> {
    const checkpoint: CheckpointRef = { ...artifact(INIT_MODEL), epoch: 0 };
    return { checkpoint, length: UPDATE_LENGTH, backend: FAKE_BACKEND };
  },
  async aggregateRound({ round, global, updates, secure, selfMaskSeeds }: AggregateRoundInput): Promise<AggregateRoundResult> {
    // As the real join: a masked sum needs every participant's self mask.
    if (secure && (selfMaskSeeds ?? []).length !== updates.length)
      throw ApplicationFailure.nonRetryable(
        `round ${round + 1}: ${updates.length} masked updates but ${(selfMaskSeeds ?? []).length} revealed self masks; every participant must reveal its own`,
      );
    const name = aggregateName(
      round,
      nameOf(global),
      updates.map((u) => ({ site: u.site, update: nameOf(u.update), examples: u.examples })),
    );
    return { checkpoint: { ...artifact(name), epoch: round + 1 }, used: updates.map((u) => u.site), leftOut: [], updateNorm: 0.25 };
  },
};

/** The merged auc of states by site index, as the fake merge computes it: the mean of the sites' (equal row counts). */
export const fakeMergedAuc = (indexes: number[]): number => indexes.reduce((n, i) => n + fakeSiteAuc(i), 0) / indexes.length;

const coordinatorEvalFakes = {
  async mergeEvaluation({ states }: MergeEvaluationInput): Promise<MergeEvaluationResult> {
    const rows = states.reduce((n, s) => n + s.rows, 0);
    const metrics: EvaluationMetrics = {
      task: 'binary',
      auc: fakeMergedAuc(states.map((s) => s.partition)),
      logLoss: 0.5,
      accuracy: 0.8,
      positiveRate: 0.2,
      rows,
    };
    return { metrics, report: artifact(`evaluation-${fingerprint(states.map((s) => s.uri).join(','))}`) };
  },
};

interface Running {
  worker: Worker;
  running: Promise<void>;
}

/**
 * The coordinator's and every site's workers on queues of their own (a fresh prefix per federation,
 * so no test sees another's tasks), and the calls their fakes saw.
 */
export class Federation {
  readonly prefix = `${uniqueName('fed')}-`;
  readonly queues = poolQueues(this.prefix);
  readonly siteQueues: Record<string, string>;
  readonly calls: FedCall[] = [];
  private readonly workers = new Map<string, Running>();
  private readonly handles: Array<WorkflowHandle<typeof federatedTraining>> = [];
  private runs = 0;

  constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly bundle: WorkflowBundleWithSourceMap,
    readonly spec: FederatedSpec,
    private readonly options: FederationOptions = {},
  ) {
    this.siteQueues = Object.fromEntries(this.allSites.map((s) => [s, siteTaskQueue(s, this.prefix)]));
  }

  /** The training sites, then the evaluation-only ones: the order of their evaluation partitions. */
  get allSites(): string[] {
    return [...this.spec.federated.sites, ...(this.spec.federated.evaluationSites ?? [])];
  }

  /** The run's input, as the client builds it. */
  get input(): FederatedTrainingInput {
    return { spec: this.spec.pipeline, federated: this.spec.federated, queues: this.queues, siteQueues: this.siteQueues };
  }

  async startAll(): Promise<void> {
    await Promise.all([
      this.startWorkflowWorker(),
      this.startWorker('cpu', this.queues.cpu, null, coordinatorCpuFakes),
      this.startWorker('eval', this.queues.eval, null, coordinatorEvalFakes),
      ...this.allSites.map((site, i) => this.startSiteWorker(site, i)),
    ]);
  }

  /** A Worker with the workflows (and no activities) on the orchestrator queue. */
  async startWorkflowWorker(): Promise<void> {
    const worker = await Worker.create({
      connection: this.env.nativeConnection,
      namespace: this.env.namespace ?? 'default',
      taskQueue: this.queues.orchestrator,
      workflowBundle: this.bundle,
    });
    this.track('workflows', worker);
  }

  startSiteWorker(site: string, index = this.allSites.indexOf(site)): Promise<void> {
    return this.startWorker(`site:${site}`, this.siteQueues[site]!, site, siteFakes(site, index));
  }

  stopWorkflowWorker(): Promise<void> {
    return this.stop('workflows');
  }

  stopSiteWorker(site: string): Promise<void> {
    return this.stop(`site:${site}`);
  }

  /** Starts a run of federatedTraining on the orchestrator queue (id: the prefix and a counter, unless given). */
  async start(
    workflowId = `${this.prefix}run-${++this.runs}`,
    input: FederatedTrainingInput = this.input,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof federatedTraining>> {
    const handle = await this.env.client.workflow.start<typeof federatedTraining>('federatedTraining', {
      taskQueue: this.queues.orchestrator,
      workflowId,
      args: [input],
    });
    this.handles.push(handle);
    return handle;
  }

  /** The calls of one run (by workflow id), optionally of one activity. */
  callsOf(workflowId: string, name?: FakeName): FedCall[] {
    return this.calls.filter((c) => c.workflowId === workflowId && (name === undefined || c.name === name));
  }

  /** Ends what is still running (a failed test's run) and stops every worker. */
  async close(): Promise<void> {
    await Promise.all(
      this.handles.map(async (h) => {
        try {
          if ((await h.describe()).status.name === 'RUNNING') await h.terminate('test over');
        } catch {
          // Gone already.
        }
      }),
    );
    await Promise.all([...this.workers.keys()].map((key) => this.stop(key)));
  }

  private async startWorker(key: string, taskQueue: string, site: string | null, fakes: Record<string, (input: never) => Promise<unknown>>): Promise<void> {
    const activities = Object.fromEntries(
      Object.entries(fakes).map(([name, fake]) => {
        const fn = async (input: unknown): Promise<unknown> => {
          const { attempt, workflowExecution } = Context.current().info;
          const call: FedCall = { name: name as FakeName, site, workflowId: workflowExecution?.workflowId ?? '', input, attempt };
          this.calls.push(call);
          const next = (): Promise<unknown> => fake(input as never);
          const around = this.options.around?.[name as FakeName];
          return around ? around(call, next) : next();
        };
        return [name, fn];
      }),
    );
    const worker = await Worker.create({ connection: this.env.nativeConnection, namespace: this.env.namespace ?? 'default', taskQueue, activities });
    this.track(key, worker);
  }

  private track(key: string, worker: Worker): void {
    if (this.workers.has(key)) throw new Error(`a worker ${key} is running already`);
    const running = worker.run();
    // Its error surfaces when it is stopped; until then, keep it from being unhandled.
    running.catch(() => undefined);
    this.workers.set(key, { worker, running });
  }

  private async stop(key: string): Promise<void> {
    const w = this.workers.get(key);
    if (!w) return;
    this.workers.delete(key);
    if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
    await w.running;
  }
}

/** Runs `body` with a federation's workers polling, and stops them (and any run left) after it. */
export async function withFederation<T>(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
  spec: FederatedSpec,
  options: FederationOptions,
  body: (federation: Federation) => Promise<T>,
): Promise<T> {
  const federation = new Federation(env, bundle, spec, options);
  try {
    await federation.startAll();
    return await body(federation);
  } finally {
    await federation.close();
  }
}
