import { defineQuery } from '@temporalio/workflow';
import type { TuningSpec } from '../lib/spec/tuning-spec';
import type { EncodedShardRef, TransformRef } from './refs';
import type { TrainModelInput, TrainModelResult } from './stages';
import type { PoolQueues } from './task-queues';

/** A trial's value of one tuned parameter: a number, an activation's name, or hidden layer widths. */
export type ParamValue = number | string | number[];
/** A trial's parameters, by model field (plus `dropout`: every hidden layer's), merged into the base model section. */
export type TrialParams = Record<string, ParamValue>;

/** The hyperparameter search's input: the base model section, the parsed tuning section, and the data every trial trains on. */
export interface SearchInput {
  model: TrainModelInput['model'];
  tuning: TuningSpec;
  transform: TransformRef;
  shards: EncodedShardRef[];
  queues: PoolQueues;
}

/**
 * Where a trial stands: running, completed (trained to the end), stopped (by ASHA, or cancelled
 * from outside; its last reported metric stands) or failed (its error is kept; the search goes on).
 */
export type TrialStatus = 'running' | 'completed' | 'stopped' | 'failed';

export interface TrialSummary {
  /** The trial's number, zero-padded ("03"): its child workflow id ends in `-trial-<trial>`. */
  trial: string;
  workflowId: string;
  params: TrialParams;
  /** 'running' only while the search runs (the searchProgress query); never in a SearchResult. */
  status: TrialStatus;
  /** Epochs finished (reported) so far. */
  epochs: number;
  /** The trial's metric: that of its final model when completed, else of its last reported epoch; null before any. */
  metric: number | null;
  /** The metric at the end of each epoch (0-based). */
  metricByEpoch: number[];
  /** Why it failed, when it did. */
  error?: string;
}

/** The metric trials were compared on: "loss" or the task's validation metric (auc, accuracy, rmse (standardised)). */
export interface SearchMetric {
  name: string;
  higherIsBetter: boolean;
}

export interface SearchResult {
  /** The best completed trial; its model goes on through the pipeline. */
  best: { trial: string; params: TrialParams; metric: number; result: TrainModelResult };
  trials: TrialSummary[];
  metric: SearchMetric;
}

/** The trials started so far, as they stand: the CLI and the Web UI's Queries tab. */
export const searchProgressQuery = defineQuery<TrialSummary[]>('searchProgress');

/** A search as the run's result, progress and the registry keep it: the metric, the best trial and every trial. */
export interface SearchSummary {
  metric: SearchMetric;
  best: Omit<SearchResult['best'], 'result'>;
  trials: TrialSummary[];
}
