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

export interface EvaluationMetrics {
  auc: number;
  logLoss: number;
  accuracy: number;
  positiveRate: number;
  rows: number;
}

export interface RegisteredModel {
  name: string;
  version: number;
}
