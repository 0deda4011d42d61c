import type { EvaluateAtSiteInput, EvaluateAtSiteResult } from '../../contracts/federated';
import { openArtifactStore, readArtifactBytes, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { evaluateShard } from '../evaluation/evaluate-shard';
import { mergeEvaluationStates, type EvaluationState } from '../evaluation/states/evaluation-state';
import type { BinaryState } from '../evaluation/states/binary-state';
import { metricsOf, rowsOf, type MetricState } from '../evaluation/states/metric-state';
import { decodeState, encodeState } from '../evaluation/states/state-codec';

export type EvaluateAtSiteTask = EvaluateAtSiteInput & {
  artifactStore: ArtifactStoreSettings;
  exchangeStore: ArtifactStoreSettings;
};

/** Binary scores are rounded to this grid before a site's state leaves it. */
export const SHARED_SCORE_BINS = 4096;

/**
 * Scores the model on the site's test split, shard by shard (the per-shard states stay in the
 * site's store), and writes one merged state to the exchange store for the coordinator to merge
 * with the other sites'. A binary state normally keeps every distinct score with its label counts,
 * which would pair each test row's label with its score; the shared state rounds scores to a grid
 * of 1/4096 first, so it is a histogram (AUC and the other figures move by at most the grid's
 * ties). Multiclass (a confusion matrix) and regression (sums) states are aggregates already.
 */
export async function evaluateAtSite(input: EvaluateAtSiteTask, progress: (rows: number) => void): Promise<EvaluateAtSiteResult> {
  const model = { ...input.model, backend: 'unknown', epochs: input.model.epoch, trainSamples: 0, trainSeconds: 0, finalLoss: 0 };
  let merged: EvaluationState | undefined;
  let rows = 0;
  let backend = 'unknown';
  for (const shard of [...input.shards].sort((a, b) => a.partition - b.partition)) {
    if (shard.testRows === 0) continue;
    const done = rows;
    const ref = await evaluateShard({ model, transform: input.transform, shard, slices: [], artifactStore: input.artifactStore }, (n) => progress(done + n));
    backend = ref.backend;
    rows += ref.rows;
    const state = decodeState(await readArtifactBytes(ref), `site "${input.site}" metric state of partition ${shard.partition}`);
    merged = merged ? mergeEvaluationStates(merged, state) : state;
  }
  if (!merged) throw new Error(`site "${input.site}" has no test rows: the global model cannot be evaluated there`);
  const shared: EvaluationState = { overall: coarsened(merged.overall), slices: [] };
  const ref = await openArtifactStore(input.exchangeStore).putBytes('metric-state', '.bin', encodeState(shared));
  return { site: input.site, state: { ...ref, partition: input.siteIndex, rows: rowsOf(shared.overall) }, metrics: metricsOf(shared.overall), backend };
}

function coarsened(state: MetricState): MetricState {
  return state.task === 'binary' ? coarsenBinaryState(state, SHARED_SCORE_BINS) : state;
}

/** The state with every score rounded to the nearest multiple of 1/bins and equal scores' counts summed (still canonical). */
export function coarsenBinaryState(state: BinaryState, bins: number): BinaryState {
  const scores: number[] = [];
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < state.scores.length; i++) {
    const q = Math.fround(Math.round(state.scores[i]! * bins) / bins);
    const last = scores.length - 1;
    // Scores ascend, so rounded ones do not descend: equal ones are adjacent.
    if (last >= 0 && scores[last] === q) {
      positives[last] = positives[last]! + state.positives[i]!;
      negatives[last] = negatives[last]! + state.negatives[i]!;
    } else {
      scores.push(q);
      positives.push(state.positives[i]!);
      negatives.push(state.negatives[i]!);
    }
  }
  return { task: 'binary', scores: Float32Array.from(scores), positives: Float64Array.from(positives), negatives: Float64Array.from(negatives) };
}
