/**
 * k-fold cross-validation: the fold plan the cpu pool computes once, the fold rule each fold's
 * transform carries in its split, and what the crossValidate workflow returns. The folds partition
 * the train split only: the test split stays held out, untouched by every fold.
 */
import type { FittedLabel } from '../lib/features/transform-format';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import type { DatasetRef, EvaluationMetrics } from './refs';
import type { PoolQueues } from './task-queues';

/** Folds cross-validation takes, as the spec allows (evaluation.crossValidation.folds). */
export const MIN_FOLDS = 2;
export const MAX_FOLDS = 20;
/** Strata a stratified plan keeps (classes × (k − 1) cut points travel in every fold's payload). */
export const MAX_FOLD_STRATA = 1000;

/**
 * One fold of a k-fold plan, as a split rule carries it (SplitRule.fold): the outer split's train rows
 * whose fold is `index` are this fold's test rows, the other train rows its train rows; the outer test
 * rows are excluded (neither trained on nor evaluated); validation rows stay validation.
 */
export interface FoldRule {
  k: number;
  /** 0-based. */
  index: number;
  /**
   * Per stratum, the k − 1 ascending cut points of the split hash (hashKey of the row id and the split
   * seed, out of 2^32): a row's fold is how many of its stratum's cut points are at or below its hash.
   */
  bounds: number[][];
  /** The label whose class (index) is a row's stratum: binary or multiclass. Absent: one stratum, bounds[0]. */
  strata?: FittedLabel;
}

export interface PlanFoldsInput {
  spec: PipelineSpec;
  dataset: DatasetRef;
  folds: number;
  /** Balance each class over the folds (classification labels; a regression label has one stratum whatever this says). */
  stratify: boolean;
}

/** The k folds, cut once over the raw shards: each fold's FoldRule is this with its index. */
export interface FoldPlan {
  k: number;
  /** Whether the folds are balanced per class (false for a regression label, or when not asked). */
  stratified: boolean;
  bounds: number[][];
  strata?: FittedLabel;
  /** Test rows of each fold (outer train rows in it), fold order. */
  testRows: number[];
}

/** The fold rule of fold `index` of a plan. */
export function foldRule(plan: FoldPlan, index: number): FoldRule {
  return { k: plan.k, index, bounds: plan.bounds, ...(plan.strata ? { strata: plan.strata } : {}) };
}

export interface CrossValidateInput {
  spec: PipelineSpec;
  dataset: DatasetRef;
  folds: number;
  stratify: boolean;
  queues: PoolQueues;
  /**
   * Folds running at once (a positive integer); absent: all k. Lower it to bound the load a
   * cross-validation puts on the pools; 1 runs the folds one after another (bench/evaluation.ts's baseline).
   */
  maxParallelFolds?: number;
}

/** A metric over the folds: its mean, sample standard deviation (n − 1) and per-fold values, fold order. */
export interface FoldMetricSummary {
  mean: number;
  std: number;
  values: number[];
}

export interface CrossValidationResult {
  folds: number;
  stratified: boolean;
  /** Every numeric metric of the folds' EvaluationMetrics (rows included); NaN (null in JSON) where a fold's value is undefined. */
  metrics: Record<string, FoldMetricSummary>;
  perFold: EvaluationMetrics[];
}

/**
 * What makes a cross-validation request impossible before any data is read, as a user-facing message;
 * null when it can run. The workflow and the planFolds activity both ask, so either refuses alike.
 */
export function crossValidationProblem(folds: number, split: { timeColumn?: string | undefined }): string | null {
  if (!Number.isInteger(folds) || folds < MIN_FOLDS || folds > MAX_FOLDS) {
    return `evaluation.crossValidation.folds is ${folds}: cross-validation takes ${MIN_FOLDS} to ${MAX_FOLDS} folds`;
  }
  if (split.timeColumn !== undefined) {
    return 'cross-validation folds rows by hash; a time split needs forward-chaining validation, which pipewright does not do yet: drop evaluation.crossValidation or split.timeColumn';
  }
  return null;
}
