import { createHash } from 'node:crypto';
import type { PipelineSpec } from '../spec/pipeline-spec';

/** Steps after ingest whose results the step cache keeps. */
export type CachedStep = 'fit' | 'apply' | 'train' | 'evaluate';

/** The cache key of each step of one run, chained as the steps are: a step's key covers its inputs' keys. */
export interface StepKeys {
  fit: string;
  /** By partition. */
  apply: Record<number, string>;
  train: string;
  evaluate: string;
}

function key(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Keys from what determines each result (as TFX, Kubeflow Pipelines and Flyte key their caches):
 * the code version, the data's content hashes and the spec section the step reads, chained through
 * the keys of the steps it consumes. Ingest is never cached: it is what reads the data and hashes it.
 * A key depends only on things a run knows once its dataset is validated, so one lookup finds every
 * step it may reuse.
 */
export function stepKeys(
  code: string,
  dataset: { sha256: string; shards: ReadonlyArray<{ partition: number; sha256: string }> },
  spec: PipelineSpec,
): StepKeys {
  const fit = key(code, 'fit', dataset.sha256, spec.features, spec.label, spec.split);
  const apply = Object.fromEntries(dataset.shards.map((s) => [s.partition, key(code, 'apply', fit, s.sha256)]));
  // A tuned model is the best trial of a search, so the search's settings are part of its key.
  const train = spec.tuning
    ? key(code, 'train', fit, Object.values(apply).sort(), spec.model, spec.tuning)
    : key(code, 'train', fit, Object.values(apply).sort(), spec.model);
  // The evaluation's report depends on the slices, and its importance on its settings.
  const evaluate = key(code, 'evaluate', train, spec.evaluation?.slices ?? [], spec.evaluation?.importance ?? null);
  return { fit, apply, train, evaluate };
}
