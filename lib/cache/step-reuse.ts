import type { Pool } from 'pg';
import type { DatasetRef, EncodedShardRef, TransformRef } from '../../contracts/refs';
import type { EvaluateResult, Reused, StepReuse, TrainModelResult } from '../../contracts/stages';
import type { PipelineSpec } from '../spec/pipeline-spec';
import { codeVersion } from './code-version';
import { lookupSteps } from './step-cache';
import { stepKeys } from './step-keys';

/** The run's step keys and, when `reuse`, the finished results of earlier runs it can take instead of computing them. */
export async function planStepReuse(pool: Pool, dataset: DatasetRef, spec: PipelineSpec, reuse: boolean): Promise<StepReuse> {
  const keys = stepKeys(codeVersion(), dataset, spec);
  if (!reuse) return { keys, apply: {} };
  const found = await lookupSteps(pool, [keys.fit, ...Object.values(keys.apply), keys.train, keys.evaluate]);
  const get = <T>(key: string): Reused<T> | undefined => found.get(key) as Reused<T> | undefined;
  const apply: Record<number, Reused<EncodedShardRef>> = {};
  for (const [partition, key] of Object.entries(keys.apply)) {
    const hit = get<EncodedShardRef>(key);
    if (hit) apply[Number(partition)] = hit;
  }
  const fit = get<TransformRef>(keys.fit);
  const train = get<TrainModelResult>(keys.train);
  const evaluate = get<EvaluateResult>(keys.evaluate);
  return { keys, apply, ...(fit ? { fit } : {}), ...(train ? { train } : {}), ...(evaluate ? { evaluate } : {}) };
}
