import type { MergeRoundInput, MergeRoundResult } from '../../contracts/stages';
import { openArtifactStore, readArtifactJson, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { labelHead } from '../features/label-task';
import type { FittedTransform } from '../features/transform';
import { initBackend } from '../models/backend';
import { loadSavedModel, type SavedModel } from '../models/model-io';
import { predictSplit } from '../models/predict';
import { averageCheckpoints } from './average-checkpoints';
import { verifiedArtifactBytes } from './checkpoints';
import { ValidationScore } from './validation-score';

export type MergeRoundTask = MergeRoundInput & { artifactStore: ArtifactStoreSettings };

/**
 * The join of a data-parallel round: averages the workers' checkpoints, weighted by the examples
 * each trained on (see averageCheckpoints), writes the merged checkpoint, and, at the end of an
 * epoch, scores it on the validation rows for early stopping and progress.
 */
export async function mergeRound(input: MergeRoundTask, progress: (rows: number) => void): Promise<MergeRoundResult> {
  const parts = await Promise.all(
    input.parts.map(async (p) => ({ saved: JSON.parse((await verifiedArtifactBytes(p.checkpoint)).toString('utf8')) as SavedModel, examples: p.samples })),
  );
  const merged = averageCheckpoints(parts);
  const checkpoint =
    input.parts.length === 1
      ? input.parts[0]!.checkpoint
      : { ...(await openArtifactStore(input.artifactStore).putJson('checkpoints', merged)), epoch: input.epoch };
  if (!input.validateOn) return { checkpoint };

  await initBackend();
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const head = labelHead(transform);
  const { model } = await loadSavedModel(checkpoint, transform);
  const score = new ValidationScore(head.task);
  let rows = 0;
  await predictSplit(
    model,
    transform,
    [...input.validateOn].sort((a, b) => a.partition - b.partition),
    'validation',
    (outputs, labels, n, units) => {
      score.add(outputs, labels, n, units);
      rows += n;
      progress(rows);
    },
  );
  model.dispose();
  if (rows === 0) return { checkpoint };
  const { loss, metric } = score.finish();
  return { checkpoint, validationLoss: loss, validationMetric: metric };
}
