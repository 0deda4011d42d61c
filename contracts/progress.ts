import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EvaluationMetrics } from './refs';
import type { SearchSummary } from './tuning';

import { STAGES, type StageName } from './stage-names';

export { STAGES, type StageName };

export interface StageProgress {
  status: 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'skipped';
  /** Why a stage was skipped (e.g. deploy, when the model was not blessed). */
  note?: string;
  /** Units finished / total (partitions, shards, epochs, ...). */
  done: number;
  total: number;
  unit: string;
  seconds: number;
  /** Units reused from the step cache instead of computed. */
  cached?: number;
}

export interface PipelineProgress {
  pipeline: string;
  model: string;
  stage: StageName | 'finished' | 'failed' | 'cancelled';
  stages: Record<StageName, StageProgress>;
  rows?: number;
  quarantinedRows?: number;
  /** Data validation warnings (anomalies of severity warn) of this run's dataset. */
  validationWarnings?: number;
  trainLoss?: number[];
  /** Per epoch, where the split has validation rows. */
  validationLoss?: number[];
  /** The latest epoch's headline validation metric. */
  validationMetric?: { name: string; value: number };
  /** Training's position: the epoch running (0-based), the rounds of it done, and the workers. */
  training?: { epoch: number; round: number; rounds: number; workers: number };
  backend?: string;
  metrics?: EvaluationMetrics;
  /** The hyperparameter search's trials and best trial, once it has ended. */
  search?: SearchSummary;
  /** k-fold cross-validation's headline metric over the folds (mean and sample standard deviation). */
  crossValidation?: { folds: number; metric: string; mean: number; std: number };
  /** Whether the model passed the spec's blessing thresholds (deployed) or not (registered only), and why. */
  blessing?: { blessed: boolean; reason: string };
  modelVersion?: number;
  error?: string;
}

/** A pipeline run's live state: the CLI's progress bars, `pipewright status` and the Web UI's Queries tab. */
export const progressQuery = defineQuery<PipelineProgress>('progress');

export interface EpochFinished {
  /** 0-based epoch that finished. */
  epoch: number;
  loss: number;
  backend: string;
  /** Validation loss and the task's headline metric of the epoch's model, where the split has validation rows. */
  validationLoss?: number;
  validationMetric?: { name: string; value: number };
  /** Rounds of weight averaging done in this epoch so far, of how many (data-parallel training). */
  round?: number;
  rounds?: number;
  workers?: number;
  /** The reporting training's workflow id, so a parent with several children (a hyperparameter search) knows whose epoch ended. */
  workflowId?: string;
}

/** Sent by the training child to its pipeline after each epoch, so the pipeline's progress shows epochs as they end. */
export const epochFinishedSignal = defineSignal<[EpochFinished]>('epochFinished');
