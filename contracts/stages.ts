/**
 * What each stage takes and returns across the workflow boundary. Only references and counts:
 * rows, tensors and weights stay in the artifact store.
 */
import type { Partition } from '../lib/data/partitions';
import type { StepEntry } from '../lib/cache/step-cache';
import type { StepKeys } from '../lib/cache/step-keys';
import type { SourceSchema } from '../lib/data/source-schema';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import type { FoldRule } from './cross-validation';
import type { CrossValidationResult } from './cross-validation';
import type { SearchSummary } from './tuning';
import type { Blessing, EvaluationStepResult, ImportanceResult } from './evaluation';
import type { StageName } from './progress';
import type { ArtifactRef, CheckpointRef, DatasetRef, EncodedShardRef, EvaluationMetrics, ModelRef, RegisteredModel, ShardRef, TransformRef } from './refs';
import type { PoolQueues } from './task-queues';

// ingest
export interface IngestPlan {
  schema: SourceSchema;
  /** With a one-line description each, for the activity summaries in the Web UI. */
  partitions: Array<{ partition: Partition; describe: string }>;
  /** Rows to read, where the source says so before it is read (tables, queries, Parquet files; not CSV). */
  rows: number | null;
}
export interface IngestPartitionInput {
  schema: SourceSchema;
  partition: Partition;
}

// validate
export interface CheckDatasetInput {
  /** The pipeline run: its dataset record's key. */
  runId: string;
  spec: PipelineSpec;
  shards: ShardRef[];
  /** Look up finished steps to reuse (false: `--no-cache`, every step runs). */
  reuseSteps: boolean;
}
/** A step result found in the step cache, and the run that computed it. */
export interface Reused<T> {
  result: T;
  runId: string;
}
/** The run's step-cache keys, and the results it may reuse instead of computing them. */
export interface StepReuse {
  keys: StepKeys;
  fit?: Reused<TransformRef>;
  /** By partition. */
  apply: Record<number, Reused<EncodedShardRef>>;
  train?: Reused<TrainModelResult>;
  /** EvaluateResult in runs before per-shard metric states; EvaluationStepResult since. */
  evaluate?: Reused<EvaluateResult | EvaluationStepResult>;
}
export interface ValidatedDataset {
  dataset: DatasetRef;
  steps: StepReuse;
}

// transform
export interface FitTransformInput {
  spec: PipelineSpec;
  dataset: DatasetRef;
  /** A cross-validation fold: fit on that fold's train rows only; the transform's split carries the fold. */
  fold?: FoldRule;
}
export interface ApplyTransformInput {
  transform: TransformRef;
  shard: ShardRef;
}

// train
/** The legacy per-epoch activity, kept so that runs started before data-parallel training finish. */
export interface TrainEpochInput {
  model: PipelineSpec['model'];
  transform: TransformRef;
  shards: EncodedShardRef[];
  /** 0-based epoch to run. */
  epoch: number;
  /** Checkpoint after the previous epoch; absent for epoch 0. */
  from?: CheckpointRef;
}
export interface TrainEpochResult {
  checkpoint: CheckpointRef;
  backend: string;
  loss: number;
  samples: number;
  seconds: number;
}

/** A worker's share of rows: those whose (row, block) position is `index` modulo `count`. */
export interface RowShare {
  index: number;
  count: number;
}

export interface PlanTrainingInput {
  model: PipelineSpec['model'];
  transform: TransformRef;
  shards: EncodedShardRef[];
}
/** How each epoch is spread: each worker's shards, its share of their rows, and its batch count. */
export interface TrainingPlan {
  /** Partition numbers of each worker's shards (all of them when the rows are shared out). */
  groups: number[][];
  /** Set when each worker trains on every `count`-th row of its shards (model.parallelism.share "rows"). */
  rowShares?: boolean;
  /** Train batches of each group per epoch. */
  batches: number[];
  /** Validation rows over all shards: early stopping and the validation loss need some. */
  validationRows: number;
  /** Output units and task of the model, from the fitted transform's label. */
  task: string;
  units: number;
}

export interface TrainShardsInput {
  model: PipelineSpec['model'];
  transform: TransformRef;
  /** This worker's shard group, partition order. */
  shards: EncodedShardRef[];
  epoch: number;
  /** 0-based round within the epoch and this worker's group index: with epoch, they seed the row order. */
  round: number;
  worker: number;
  /** This worker's rows of the shards: every `count`-th, from `index` (absent: all rows). */
  share?: RowShare;
  /** The half-open range of the group's train batches this round covers. */
  fromBatch: number;
  toBatch: number;
  /** The group's train batches per epoch (the learning-rate schedule's clock). */
  batchesPerEpoch: number;
  /** Weights and optimizer state to start from; absent for the very first round. */
  from?: CheckpointRef;
}
export interface TrainShardsResult {
  checkpoint: CheckpointRef;
  backend: string;
  /** Examples trained on and the sum of their losses (for the example-weighted mean loss). */
  samples: number;
  lossSum: number;
  batches: number;
  seconds: number;
  /** The batch a retried attempt resumed at from its mid-epoch checkpoint; absent when it started at fromBatch. */
  resumedAtBatch?: number;
}
/** What a training activity heartbeats: its last mid-epoch checkpoint and where to go on from it. */
export interface TrainShardsHeartbeat {
  progress: number;
  resume?: { checkpoint: CheckpointRef; nextBatch: number; samples: number; lossSum: number; seconds: number };
}

export interface MergeRoundInput {
  model: PipelineSpec['model'];
  transform: TransformRef;
  /** Every worker's result for the round, in worker order. */
  parts: Array<{ checkpoint: CheckpointRef; samples: number }>;
  epoch: number;
  /** Shards to compute the validation loss on (all of them); absent: no validation this round. */
  validateOn?: EncodedShardRef[];
}
export interface MergeRoundResult {
  checkpoint: CheckpointRef;
  /** Mean validation loss of the merged model, when asked for. */
  validationLoss?: number;
  /** The task's headline validation metric (AUC, accuracy or RMSE), when asked for. */
  validationMetric?: { name: string; value: number };
}

/** Where a training run stands between epochs; carried over continue-as-new. */
export interface TrainingState {
  /** Epochs finished so far. */
  epochsDone: number;
  checkpoint?: CheckpointRef;
  losses: number[];
  backend: string;
  trainSamples: number;
  trainSeconds: number;
  plan?: TrainingPlan;
  validationLosses?: number[];
  /** The best validation epoch so far (0-based) and its checkpoint, for early stopping. */
  best?: { epoch: number; loss: number; checkpoint: CheckpointRef };
  stoppedEarly?: boolean;
}
export interface TrainModelInput {
  model: PipelineSpec['model'];
  transform: TransformRef;
  shards: EncodedShardRef[];
  queues: PoolQueues;
  /** Set when the child continued as new: where the previous run of it left off. */
  resume?: TrainingState;
}
export interface TrainModelResult {
  model: ModelRef;
  losses: number[];
  validationLosses?: number[];
  /** Epochs actually trained, when early stopping ended training before model.epochs. */
  stoppedAfterEpochs?: number;
}

// evaluate
export interface EvaluateInput {
  model: ArtifactRef;
  transform: TransformRef;
  shards: EncodedShardRef[];
}
export type EvaluateResult = EvaluationMetrics & { backend: string };

// registry
export interface RunStarted {
  /** The workflow id, which names the run in the CLI, the registry and the Web UI. */
  runId: string;
  temporalRunId: string;
  pipeline: string;
  spec: PipelineSpec;
}
export interface RunFinished {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  metrics: EvaluationMetrics | { error: string; stage: string };
  stageSeconds: Record<string, number>;
}
export interface RegisterInput {
  name: string;
  runId: string;
  model: ModelRef;
  transform: TransformRef;
  metrics: EvaluationMetrics;
  datasetSha256: string;
  spec: PipelineSpec;
  /** Step results this run computed, for the step cache (recorded with the version). */
  computedSteps: StepEntry[];
  /** What made the model, to reproduce or audit it (absent in runs started before lineage was kept). */
  lineage?: ModelLineage;
  /** The evaluation's full report (EvaluationReport JSON), permutation importance and the blessing. */
  evaluation?: ArtifactRef;
  importance?: ImportanceResult;
  blessing?: Blessing;
  /** Loss per epoch, and validation loss and metric per epoch where the split has validation rows. */
  training?: TrainingCurves;
  crossValidation?: CrossValidationResult;
  /** The hyperparameter search that chose this model's parameters. */
  search?: SearchSummary;
}

/** Everything that decides a model's bytes: same lineage, same model. */
export interface ModelLineage {
  datasetSha256: string;
  transformSha256: string;
  /** sha256 of the pipeline spec as canonical JSON. */
  specSha256: string;
  /** The code version (hash of lib/ and activities/) of the worker that registered it. */
  codeVersion: string;
  /** package.json's version of that worker (absent in versions registered before it was recorded). */
  packageVersion?: string;
  /** The git commit that worker ran, when it ran from a checkout. */
  gitCommit?: string;
  seeds: { split: number; model: number };
  backend: string;
}

export interface TrainingCurves {
  trainLoss: number[];
  validationLoss?: number[];
  validationMetric?: { name: string; values: number[] };
}

// deploy
/** A version to make production; the run and reason go to the alias history. */
export interface DeployInput extends RegisteredModel {
  runId?: string;
  reason?: string;
}
export interface DeployResult extends RegisteredModel {
  /** The model server that confirmed it now serves this version; null when none was running. */
  servedBy: string | null;
}

// the pipeline
export interface TrainingPipelineInput {
  /** A spec that already passed validation on the client (parsePipelineSpec). */
  spec: PipelineSpec;
  /** Reuse finished steps from earlier runs with the same inputs (default true; `--no-cache` sets false). */
  reuseSteps?: boolean;
  /** Task queue of each pool, resolved by the client so workflow code reads no environment. */
  queues: PoolQueues;
}
export interface TrainingPipelineResult {
  runId: string;
  /** The registered version; `servedBy` is null when it was not deployed (not blessed) or no server was running. */
  model: DeployResult;
  metrics: EvaluationMetrics;
  /** Absent in runs before blessing: those always deployed. */
  deployed?: boolean;
  blessing?: Blessing;
  crossValidation?: CrossValidationResult;
  search?: SearchSummary;
  backend: string;
  rows: number;
  quarantinedRows: number;
  /** Data validation anomalies of severity warn (`pipewright report <run-id>` lists them). */
  validationWarnings: number;
  stageSeconds: Record<StageName, number>;
}
