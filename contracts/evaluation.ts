/**
 * What the evaluate stage passes between its activities: per-shard metric states (mergeable, in the
 * artifact store), the merged report, permutation importance and the blessing. Only refs and small
 * summaries cross the workflow boundary.
 */
import type { ArtifactRef, EncodedShardRef, EvaluationMetrics, ModelRef, TransformRef } from './refs';

/** Metrics per value of a discrete feature: the `top` values by test rows (the spec's evaluation.slices). */
export interface SliceSpec {
  /** A feature of the transform whose code is a category: categorical, hashed, cross, quantileBuckets, hourOfDay, dayOfWeek. */
  feature: string;
  top: number;
}

/** The mergeable metric state of one shard's test rows (and of its slices), as an artifact. */
export interface MetricStateRef extends ArtifactRef {
  partition: number;
  /** Test rows scored. */
  rows: number;
}

export interface EvaluateShardInput {
  model: ModelRef;
  /** The transform `shard` was encoded with (the model's own). */
  transform: TransformRef;
  shard: EncodedShardRef;
  /** Features to slice by (names in the transform). */
  slices: string[];
  /**
   * Evaluating a baseline (the production model) on this run's test rows: `shard` is the same raw
   * shard encoded with the baseline's transform, and the rows scored are those `testRowsOf` (this
   * run's encoding of it) flags as test, so both models are measured on exactly the same rows.
   */
  testRowsOf?: EncodedShardRef;
}
export type EvaluateShardResult = MetricStateRef & { backend: string };

export interface MergeEvaluationInput {
  transform: TransformRef;
  /** Every shard's state, in partition order. */
  states: MetricStateRef[];
  slices: SliceSpec[];
}
export interface MergeEvaluationResult {
  metrics: EvaluationMetrics;
  /** The full evaluation (curves, confusion over thresholds, calibration, slices) as JSON: EvaluationReport. */
  report: ArtifactRef;
}

export interface ImportanceInput {
  model: ModelRef;
  transform: TransformRef;
  shards: EncodedShardRef[];
  /** Shuffles per feature; the drop's spread is over these. */
  repeats: number;
  /** Test rows used at most (a seeded sample when the split has more). */
  maxRows: number;
  seed: number;
}
export interface FeatureImportance {
  feature: string;
  /** Mean over repeats of (metric on the intact rows − metric with this feature shuffled), signed so that a bigger drop means a more important feature. */
  drop: number;
  /** Standard deviation of the drop over repeats. */
  std: number;
  drops: number[];
}
export interface ImportanceResult {
  /** The metric whose drop is measured (auc, accuracy, r2, ...), and its value on the intact rows. */
  metric: string;
  baseline: number;
  rows: number;
  repeats: number;
  /** Most important first. */
  features: FeatureImportance[];
}

/** One blessing threshold's outcome. */
export interface BlessingCheck {
  metric: string;
  kind: 'value' | 'change';
  passed: boolean;
  /** The candidate's value. */
  value: number;
  /** Production's value on the same test rows (change checks). */
  baseline?: number;
  /** Readable: "auc 0.760 ≥ 0.6", "auc 0.760 vs production 0.755: within 0.005". */
  message: string;
}

export interface Blessing {
  blessed: boolean;
  /** The production version compared with; absent for a model's first version (no baseline). */
  baseline?: { version: number; metrics: EvaluationMetrics };
  checks: BlessingCheck[];
  /** One line for the CLI, the Web UI's memo and the registry. */
  reason: string;
}

/** The production version of a model, to evaluate as the baseline. */
export interface ProductionBaseline {
  version: number;
  model: ModelRef;
  transform: TransformRef;
}

/** The evaluate step's result, as the step cache keeps it: metrics, the report, and importance when asked. */
export interface EvaluationStepResult {
  metrics: EvaluationMetrics;
  backend: string;
  report: ArtifactRef;
  importance?: ImportanceResult;
}
