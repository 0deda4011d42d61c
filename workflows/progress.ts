import { defineQuery } from '@temporalio/workflow';
import type { EvaluationMetrics } from '../lib/refs';

/** The pipeline's stages, in order. */
export const STAGES = ['ingest', 'validate', 'transform', 'train', 'evaluate', 'register', 'deploy'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageProgress {
  status: 'pending' | 'running' | 'done' | 'failed';
  /** Units finished / total (partitions, shards, epochs, ...). */
  done: number;
  total: number;
  unit: string;
  seconds: number;
}

export interface PipelineProgress {
  pipeline: string;
  model: string;
  stage: StageName | 'finished' | 'failed';
  stages: Record<StageName, StageProgress>;
  rows?: number;
  quarantinedRows?: number;
  trainLoss?: number[];
  backend?: string;
  metrics?: EvaluationMetrics;
  modelVersion?: number;
  error?: string;
}

export const progressQuery = defineQuery<PipelineProgress>('progress');
