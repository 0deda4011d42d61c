import type { EvaluateShardInput, EvaluateShardResult } from '../../contracts/evaluation';
import { openArtifactStore, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { readTransform } from '../features/transform-format';
import { initBackend } from '../models/backend';
import { loadSavedModel } from '../models/model-io';
import { predictSplit } from '../models/predict';
import { sliceFeature } from './slice-values';
import { EvaluationAccumulator } from './states/evaluation-state';
import { stateHeadOf } from './states/metric-state';
import { encodeState } from './states/state-codec';

export type EvaluateShardTask = EvaluateShardInput & { artifactStore: ArtifactStoreSettings };

/** Rows per forward pass: large batches amortise the per-call cost; memory is a few MB. */
const EVALUATION_BATCH = 16384;

/**
 * Scores one encoded shard's test rows and writes their mergeable metric state (overall, and per
 * value of each slice feature) as a content-addressed artifact: the same input gives the same bytes,
 * so a retried task lands on the same URI. With `testRowsOf`, the rows scored are those that
 * encoding of the same raw shard flags as test (a baseline model on this run's test rows).
 */
export async function evaluateShard(input: EvaluateShardTask, progress: (rows: number) => void): Promise<EvaluateShardResult> {
  const backend = await initBackend();
  // Any transform format: a model fitted before an upgrade evaluates on its v2 form.
  const transform = await readTransform(input.transform);
  // Slice features are checked before the model is loaded: a misspelt one fails at once.
  const slices = input.slices.map((name) => ({ feature: name, index: sliceFeature(transform, name).index }));
  const splitSource = input.testRowsOf;
  if (splitSource && splitSource.partition !== input.shard.partition) {
    throw new Error(
      `testRowsOf is partition ${splitSource.partition}, but the shard is partition ${input.shard.partition}: give this run's encoding of the same raw shard`,
    );
  }
  const expected = splitSource ? splitSource.testRows : input.shard.testRows;
  const featureCount = transform.features.length;
  const accumulator = new EvaluationAccumulator(stateHeadOf(transform), slices);
  const { model } = await loadSavedModel(input.model, transform);
  let rows = 0;
  try {
    await predictSplit(
      model,
      transform,
      [input.shard],
      'test',
      (outputs, labels, n, units, codes) => {
        accumulator.add({ outputs, labels, rows: n, units, codes, featureCount });
        rows += n;
        progress(rows);
      },
      EVALUATION_BATCH,
      splitSource ? { splitFrom: [splitSource] } : {},
    );
  } finally {
    model.dispose();
  }
  const which = splitSource ? `${splitSource.uri} flags` : 'the shard ref counts';
  if (rows !== expected) throw new Error(`partition ${input.shard.partition}: ${which} ${expected} test rows, but ${rows} were read`);
  const ref = await openArtifactStore(input.artifactStore).putBytes('metric-state', '.bin', encodeState(accumulator.state()));
  return { ...ref, partition: input.shard.partition, rows, backend };
}
