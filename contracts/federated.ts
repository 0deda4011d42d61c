/**
 * Federated training across the workflow boundary: what the coordinator asks a site, what a site
 * answers, and the run's progress. A site answers with references into the federation's exchange
 * store (its statistics, its weight update, its metric state) and with counts; its rows, shards
 * and encoded data stay in its own store and are named here only by reference.
 */
import { defineQuery } from '@temporalio/workflow';
import type { FederatedSection } from '../lib/spec/federated-spec';
import type { ModelSpec } from '../lib/spec/model-spec';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import type { MetricStateRef } from './evaluation';
import type { ArtifactRef, CheckpointRef, EncodedShardRef, EvaluationMetrics, ShardRef, TransformRef } from './refs';
import type { PoolQueues } from './task-queues';

export type { FederatedSection } from '../lib/spec/federated-spec';

export interface FederatedTrainingInput {
  spec: PipelineSpec;
  federated: FederatedSection;
  /** The coordinator's pools: transform fit, the global model, aggregation and the merged evaluation. */
  queues: PoolQueues;
  /** Each site's task queue, by site name. */
  siteQueues: Record<string, string>;
  /** Carried across continue-as-new: what is done so far. */
  resume?: FederatedState;
}

/** A site once its data is ready: its encoded shards stay in its store; the coordinator keeps their refs and counts. */
export interface PreparedSite {
  site: string;
  rows: number;
  trainRows: number;
  testRows: number;
  encoded: EncodedShardRef[];
  /** Its X25519 public key, when the rounds use secure aggregation. */
  publicKey?: string;
}

export interface FederatedState {
  transform: TransformRef;
  sites: PreparedSite[];
  /** Sites left out of the federation while preparing, and why. */
  leftOut: SiteLeftOut[];
  global: CheckpointRef;
  roundsDone: number;
  history: FederatedRound[];
  backend: string;
  privacy?: PrivacySpent;
}

export interface SiteLeftOut {
  site: string;
  reason: string;
}

/** One round as the run records it: who was asked, whose update counted, who was left out and why. */
export interface FederatedRound {
  round: number;
  asked: string[];
  used: string[];
  leftOut: SiteLeftOut[];
  /** Why the round changed nothing (too few updates with onShortRound "skip"). */
  skipped?: string;
  /** Mean training loss over the examples the used sites trained on. */
  loss?: number;
  examples: number;
  /** L2 norm of the averaged update applied to the global model. */
  updateNorm?: number;
  /** The global model after the round, merged over every site's test split (when evaluated this round). */
  metric?: { name: string; value: number };
  siteMetric?: Record<string, number>;
  seconds: number;
}

export interface PrivacySpent {
  epsilon: number;
  delta: number;
  noiseMultiplier: number;
  clipNorm: number;
  /** Rounds accounted for (those that applied an update). */
  rounds: number;
}

export interface FederatedTrainingResult {
  runId: string;
  /** The global model's final weights (no optimizer state), in the coordinator's store. */
  model: CheckpointRef;
  transform: TransformRef;
  backend: string;
  rounds: FederatedRound[];
  /** The final model on every site's test split, merged. */
  metrics: EvaluationMetrics;
  report: ArtifactRef;
  /** The final model on each site's own test split. */
  siteMetrics: Record<string, EvaluationMetrics>;
  sites: Array<Omit<PreparedSite, 'encoded' | 'publicKey'>>;
  leftOut: SiteLeftOut[];
  privacy?: PrivacySpent;
}

export interface FederatedProgress {
  pipeline: string;
  phase: 'prepare' | 'transform' | 'train' | 'evaluate' | 'finished' | 'failed';
  round: number;
  rounds: number;
  sites: Record<string, { status: 'preparing' | 'ready' | 'training' | 'left out'; rows?: number; trainRows?: number; note?: string }>;
  history: FederatedRound[];
  privacy?: PrivacySpent;
  error?: string;
}

export const federatedProgressQuery = defineQuery<FederatedProgress>('federatedProgress');

// --- asked of a site (its own task queue) ---

export interface SiteStatisticsInput {
  runId: string;
  site: string;
  spec: PipelineSpec;
  shards: ShardRef[];
}
export interface SiteStatisticsResult {
  /** Mergeable transform statistics of the site's train rows, in the exchange store. */
  statistics: ArtifactRef;
  rows: number;
}

export interface SiteKeysInput {
  runId: string;
  site: string;
}
export interface SiteKeysResult {
  /** X25519, raw 32 bytes, base64. */
  publicKey: string;
}

export interface TrainSiteRoundInput {
  runId: string;
  site: string;
  round: number;
  /** epochs = rounds × localEpochs, so learning-rate schedules span the whole run. */
  model: ModelSpec;
  transform: TransformRef;
  shards: EncodedShardRef[];
  global: CheckpointRef;
  localEpochs: number;
  /** FedProx's μ; absent for FedAvg. */
  proximalMu?: number;
  /** Differential privacy: the update is clipped to this L2 norm before it leaves. */
  clipNorm?: number;
  /** Secure aggregation: the update is pre-weighted by `weight`, fixed-point encoded and masked with every other participant. */
  secure?: {
    weight: number;
    participants: Array<{ site: string; publicKey: string }>;
    /** 0, then 1, 2, … when the round runs again among the sites that answered: each attempt masks afresh. */
    attempt: number;
  };
}
/** Asked of each participant once every masked update of the round's attempt is in. */
export interface RevealSelfMaskInput {
  runId: string;
  site: string;
  round: number;
  attempt: number;
}
export interface RevealSelfMaskResult {
  /** The seed of the site's self mask for that round and attempt, hex. */
  seed: string;
}

export interface TrainSiteRoundResult {
  site: string;
  round: number;
  /** The update (local − global weights; masked when secure) in the exchange store. */
  update: ArtifactRef;
  /** Weights in the update, to check its shape. */
  length: number;
  examples: number;
  lossSum: number;
  seconds: number;
  backend: string;
  /** L2 norm of the update before clipping (reported only without secure aggregation). */
  norm?: number;
  clipped?: boolean;
}

export interface EvaluateAtSiteInput {
  runId: string;
  site: string;
  /** The site's position in the federation: the partition its merged state carries. */
  siteIndex: number;
  model: CheckpointRef;
  transform: TransformRef;
  shards: EncodedShardRef[];
}
export interface EvaluateAtSiteResult {
  site: string;
  /** The site's test split as one mergeable metric state, in the exchange store. */
  state: MetricStateRef;
  metrics: EvaluationMetrics;
  backend: string;
}

// --- the coordinator's own steps (its cpu pool) ---

export interface FitFederatedTransformInput {
  spec: PipelineSpec;
  parts: Array<{ site: string; statistics: ArtifactRef }>;
}

export interface InitGlobalModelInput {
  model: ModelSpec;
  transform: TransformRef;
}
export interface InitGlobalModelResult {
  checkpoint: CheckpointRef;
  /** Float weights in the model: every update must have this many. */
  length: number;
  backend: string;
}

export interface AggregateRoundInput {
  runId: string;
  round: number;
  global: CheckpointRef;
  updates: Array<{ site: string; update: ArtifactRef; length: number; examples: number }>;
  /** Sites asked this round (the denominator of DP's fixed-denominator mean). */
  asked: number;
  minSites: number;
  secure: boolean;
  /** Secure aggregation: every participant's revealed self-mask seed (hex), taken out of the sum. */
  selfMaskSeeds?: string[];
  serverLearningRate: number;
  /** Seeds the DP noise. */
  seed: number;
  privacy?: { clipNorm: number; noiseMultiplier: number; delta: number; samplingRate: number; roundsSoFar: number };
}
export interface AggregateRoundResult {
  /** The new global model, or null when fewer than minSites updates were usable (the global model stays). */
  checkpoint: CheckpointRef | null;
  used: string[];
  leftOut: SiteLeftOut[];
  updateNorm: number;
  privacy?: { epsilon: number; delta: number };
}
