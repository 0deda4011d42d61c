import type { MergeEvaluationInput, MergeEvaluationResult, MetricStateRef } from '../../contracts/evaluation';
import { openArtifactStore, readArtifactBytes, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { readTransform } from '../features/transform-format';
import { evaluationReport } from './build-report';
import { sliceFeature } from './slice-values';
import { mergeEvaluationStates, type EvaluationState } from './states/evaluation-state';
import { headMismatch, rowsOf, stateHeadOf } from './states/metric-state';
import { decodeState } from './states/state-codec';

export type MergeEvaluationTask = MergeEvaluationInput & { artifactStore: ArtifactStoreSettings };

/**
 * Merges the shards' metric states (read in the order given, partition order) into the state of
 * the whole test split, and writes the full report (curves, matrices, slices) as a JSON artifact.
 * Binary figures and every count are exactly those of all rows at once; regression sums differ
 * from a single pass by float rounding only.
 */
export async function mergeEvaluation(input: MergeEvaluationTask, progress: (rows: number) => void): Promise<MergeEvaluationResult> {
  const transform = await readTransform(input.transform);
  const head = stateHeadOf(transform);
  for (const spec of input.slices) sliceFeature(transform, spec.feature);
  if (input.states.length === 0) throw new Error('mergeEvaluation: no metric states to merge (the test split has no shard)');
  const partitions = new Set<number>();
  // Balanced merging (a stack merged like a binary counter), so k shards cost O(rows · log k), not O(rows · k).
  const stack: Array<{ state: EvaluationState; weight: number }> = [];
  let rows = 0;
  for (const ref of input.states) {
    if (partitions.has(ref.partition)) throw new Error(`mergeEvaluation: partition ${ref.partition} is given twice; each shard's state once`);
    partitions.add(ref.partition);
    const state = await readState(ref);
    const mismatch = headMismatch(head, state.overall);
    if (mismatch !== null)
      throw new Error(
        `metric state of partition ${ref.partition} (${ref.uri}) does not fit the transform: ${mismatch}; evaluate the shards with this run's model`,
      );
    const stateRows = rowsOf(state.overall);
    if (stateRows !== ref.rows)
      throw new Error(`metric state of partition ${ref.partition} (${ref.uri}) holds ${stateRows} rows, but its ref says ${ref.rows}`);
    rows += stateRows;
    stack.push({ state, weight: 1 });
    while (stack.length >= 2 && stack[stack.length - 2]!.weight === stack[stack.length - 1]!.weight) {
      const top = stack.pop()!;
      const below = stack.pop()!;
      stack.push({ state: mergeEvaluationStates(below.state, top.state), weight: below.weight + top.weight });
    }
    progress(rows);
  }
  let merged = stack.pop()!.state;
  while (stack.length > 0) merged = mergeEvaluationStates(stack.pop()!.state, merged);
  const total = rowsOf(merged.overall);
  if (total !== rows) throw new Error(`the merged metric state holds ${total} rows, but the shards' states hold ${rows}`);
  const report = evaluationReport(merged, transform, input.slices);
  const ref = await openArtifactStore(input.artifactStore).putJson('evaluation', report);
  return { metrics: report.metrics, report: ref };
}

async function readState(ref: MetricStateRef): Promise<EvaluationState> {
  return decodeState(await readArtifactBytes(ref), `the metric state of partition ${ref.partition} (${ref.uri})`);
}
