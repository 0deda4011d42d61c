/**
 * The small, typed references that workflows pass between activities. They name artifacts
 * (URI + content hash) and carry counts; they never carry rows, tensors or weights, so every
 * payload stays far below Temporal's limits.
 */

export interface ArtifactRef {
  /** file:///... today; the store interface admits object-store URIs later. */
  uri: string;
  /** sha256 of the bytes at `uri`, hex. */
  sha256: string;
  bytes: number;
}

/** One ingested key-range partition, written as an Arrow IPC file. */
export interface ShardRef extends ArtifactRef {
  partition: number;
  rows: number;
  /** Rows that were malformed and went to `quarantine` instead. */
  quarantinedRows: number;
  quarantine?: ArtifactRef;
  /** Mergeable statistics of the shard's rows (lib/statistics), every column but the row id. */
  statistics: ArtifactRef;
}

export interface DatasetRef {
  /** The source it was read from: a table, or a query's first words. */
  source: string;
  shards: ShardRef[];
  rows: number;
  quarantinedRows: number;
  /** Hash over the shard hashes: identifies the data a model was trained on. */
  sha256: string;
  /** The shards' statistics merged: the statistics of the whole dataset. */
  statistics: ArtifactRef;
  /** Schema and drift checks: the report, and how many anomalies were errors (none, or the run had failed) and warnings. */
  validation: { report: ArtifactRef; errors: number; warnings: number };
}

/** The fitted transform (scalers, vocabularies) as a JSON artifact, loaded again at serving time. */
export interface TransformRef extends ArtifactRef {
  inputDim: number;
  trainRows: number;
}

/** One transformed shard: encoded features + label + split flag, Arrow IPC. */
export interface EncodedShardRef extends ArtifactRef {
  partition: number;
  trainRows: number;
  testRows: number;
  /** Rows held out for validation, when the split has a validation fraction. */
  validationRows?: number;
}

export interface CheckpointRef extends ArtifactRef {
  epoch: number;
}

export interface ModelRef extends ArtifactRef {
  backend: string;
  epochs: number;
  trainSamples: number;
  trainSeconds: number;
  finalLoss: number;
}

/**
 * A model's figures on the held-out test split, tagged with the label's task. Records written before
 * multiclass and regression (registry rows, run log, step cache, workflow histories) have no `task`:
 * they are binary. Undefined figures (AUC with one class present, R² of a constant label) are NaN,
 * which JSON stores as null.
 */
export type EvaluationMetrics = BinaryMetrics | MulticlassMetrics | RegressionMetrics;

export interface BinaryMetrics {
  /** Absent in records written before other tasks existed. */
  task?: 'binary';
  auc: number;
  logLoss: number;
  /** At probability 0.5. */
  accuracy: number;
  /** Share of test rows whose label is 1. */
  positiveRate: number;
  rows: number;
  /**
   * Average precision (area under the precision-recall curve as a step sum, scikit-learn's
   * average_precision_score). This and the figures below are absent in records written before
   * per-shard metric states.
   */
  prAuc?: number;
  /** Mean squared difference between the probability and the 0/1 label. */
  brier?: number;
  /** At probability 0.5 (a row is predicted positive when its score is ≥ 0.5); 0 when no row is predicted positive. */
  precision?: number;
  /** At probability 0.5; 0 when the test rows have no positive. */
  recall?: number;
  /** Harmonic mean of precision and recall at 0.5; 0 when both are 0. */
  f1?: number;
}

/** One class of a multiclass label, one-vs-rest. A class with no predictions has precision 0, and no test rows recall 0. */
export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Test rows of the class. */
  support: number;
}

export interface MulticlassMetrics {
  task: 'multiclass';
  /** Share of rows whose most probable class is theirs; equal to micro-averaged F1. */
  accuracy: number;
  /** Mean of -ln p(true class), probabilities clipped to [1e-7, 1 - 1e-7]. */
  logLoss: number;
  /** Unweighted mean of the F1 of the classes that are in the test split or predicted. */
  macroF1: number;
  microF1: number;
  rows: number;
  /** Every class of the label, in class order. */
  perClass: ClassMetrics[];
}

/** In the label's own units (predictions de-standardised). */
export interface RegressionMetrics {
  task: 'regression';
  rmse: number;
  mae: number;
  /** 1 - SSE / SST: 1 is perfect, 0 is no better than the test split's mean, below 0 worse. */
  r2: number;
  rows: number;
}

export interface RegisteredModel {
  name: string;
  version: number;
}
