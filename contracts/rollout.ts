import { defineQuery } from '@temporalio/workflow';
import type { PoolQueues } from './task-queues';

/**
 * The release stage: a new version goes live gradually. `canary` answers a share of live requests
 * with the challenger; `shadow` answers every request with production and scores it with the
 * challenger too, without serving its answers. Either way the challenger is compared with production
 * over a window, then promoted, or rolled back on its own with the reason recorded.
 */
export type RolloutMode = 'canary' | 'shadow';

export interface RolloutPolicy {
  mode: RolloutMode;
  /** Canary: the share of live requests the challenger answers (0–1]. Shadow: the share it also scores. */
  share: number;
  /** How long the challenger is watched before it is promoted, in seconds. */
  windowSeconds: number;
  /** How often the server's figures are read, in seconds. */
  checkEverySeconds: number;
  /** Requests the challenger must have answered (canary) or scored (shadow) before a verdict. */
  minRequests: number;
  /** Largest allowed excess of the challenger's error rate over production's (0.01 = one point). */
  maxErrorRateIncrease: number;
  /** Largest allowed ratio of the challenger's p99 latency to production's. */
  maxLatencyRatio: number;
  /** Shadow: largest allowed mean |challenger − production| of the predictions (binary and regression), or share of differing classes (multiclass). */
  maxPredictionDifference: number;
  /** What happens when the window ends with fewer than minRequests: keep waiting is no option for a durable release, so choose. */
  onTooLittleTraffic: 'promote' | 'rollback';
}

export const DEFAULT_ROLLOUT_POLICY: RolloutPolicy = {
  mode: 'canary',
  share: 0.1,
  windowSeconds: 300,
  checkEverySeconds: 5,
  minRequests: 100,
  maxErrorRateIncrease: 0.01,
  maxLatencyRatio: 2,
  maxPredictionDifference: 0.1,
  onTooLittleTraffic: 'rollback',
};

export interface RolloutInput {
  model: string;
  version: number;
  policy: RolloutPolicy;
  queues: PoolQueues;
  /** Who asked for it, recorded with the alias moves: `user:<name>`, `run:<id>`. */
  actor: string;
}

/** One side's figures since the rollout started, as the model server counts them. */
export interface RoleStats {
  requests: number;
  /** Requests the version could not answer: a failed forward pass or a non-finite output. */
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface RolloutStats {
  /** False when the server holds no rollout for the model (it restarted): the workflow sets it again. */
  active: boolean;
  version: number | null;
  mode: RolloutMode | null;
  production: RoleStats;
  challenger: RoleStats;
  /** Shadow: rows scored by both, and their mean absolute difference (or share of differing classes). */
  compared: { rows: number; meanDifference: number | null };
}

export interface CandidateCheck {
  ok: boolean;
  /** Why it cannot go live (does not load, no finite answer to a sample request). */
  reason?: string;
  latencyMs?: number;
}

export interface RolloutVerdict {
  decision: 'promote' | 'rollback' | 'wait';
  reason: string;
}

export interface RolloutResult {
  model: string;
  version: number;
  mode: RolloutMode;
  outcome: 'promoted' | 'rolled_back';
  reason: string;
  stats: RolloutStats | null;
  /** The version production points at when the rollout ends. */
  production: number | null;
}

export interface SetRolloutInput {
  model: string;
  version: number;
  mode: RolloutMode;
  share: number;
  actor: string;
}

export interface FinishRolloutInput {
  model: string;
  version: number;
  outcome: 'promote' | 'rollback';
  reason: string;
  actor: string;
}

/** Where a rollout stands, for `pipewright rollout` and the Web UI's query tab. */
export interface RolloutProgress {
  phase: 'checking' | 'watching' | 'finishing' | 'done';
  elapsedSeconds: number;
  stats: RolloutStats | null;
  verdict: RolloutVerdict | null;
}

export const rolloutProgressQuery = defineQuery<RolloutProgress>('rolloutProgress');

/** The workflow id of the rollout of one version: starting it again while it runs joins it, and a finished one can run again. */
export function rolloutWorkflowId(model: string, version: number): string {
  return `rollout-${model}-v${version}`;
}
