import type { PlanTrainingInput, TrainingPlan } from '../../contracts/stages';
import { readArtifactJson } from '../artifacts/artifact-store';
import { PipelineInputError } from '../errors';
import { countBatches } from '../features/encoded-batches';
import { countSplitRows } from '../features/shuffled-batches';
import { labelHead } from '../features/label-task';
import type { FittedTransform } from '../features/transform';
import { groupShards } from './shard-groups';

/**
 * Fixes how every epoch is spread before the first one starts: each worker's shards (all of them,
 * with a share of their rows, or a group of near-equal train rows) and its batch count, which the
 * rounds are cut from. Reads only the shards' split columns.
 */
export async function planTraining(input: PlanTrainingInput): Promise<TrainingPlan> {
  const spec = input.model;
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const head = labelHead(transform);
  const trainRows = input.shards.reduce((n, s) => n + s.trainRows, 0);
  if (trainRows === 0)
    throw new PipelineInputError('the dataset has no train rows after the split: lower split.testFraction / validationFraction or check the source');
  const validationRows = input.shards.reduce((n, s) => n + (s.validationRows ?? 0), 0);
  if (spec.earlyStopping && validationRows === 0) {
    throw new PipelineInputError(
      'model.earlyStopping watches the validation loss, but the split has no validation rows: set split.validationFraction (e.g. 0.1) or drop earlyStopping',
    );
  }
  const { workers, share } = spec.parallelism;
  const all = [...input.shards].sort((a, b) => a.partition - b.partition);
  const rowShares = share === 'rows' && workers > 1;
  const groups = rowShares ? Array.from({ length: workers }, () => all.map((s) => s.partition)) : groupShards(input.shards, workers);
  const byPartition = new Map(input.shards.map((s) => [s.partition, s]));
  const batchesOf = (rows: number): number => Math.ceil(rows / spec.batchSize);
  // Shared rows: every worker's count in one pass over the split columns.
  const batches = rowShares
    ? (await countSplitRows(all, 'train', workers)).map(batchesOf)
    : await Promise.all(
        groups.map((group) =>
          countBatches(
            transform,
            group.map((p) => byPartition.get(p)!),
            { split: 'train', batchSize: spec.batchSize },
          ),
        ),
      );
  return { groups, ...(rowShares ? { rowShares } : {}), batches, validationRows, task: head.task, units: head.units };
}
