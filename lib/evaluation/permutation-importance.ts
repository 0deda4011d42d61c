import type * as tfl from '@tensorflow/tfjs-layers';
import type { FeatureImportance, ImportanceInput, ImportanceResult } from '../../contracts/evaluation';
import type { EncodedShardRef } from '../../contracts/refs';
import type { ArtifactStoreSettings } from '../artifacts/artifact-store';
import { PipelineInputError } from '../errors';
import { modelBatches } from '../features/encoded-batches';
import { labelHead } from '../features/label-task';
import { readTransform, type FittedTransformV2 } from '../features/transform-format';
import { initBackend } from '../models/backend';
import { loadSavedModel } from '../models/model-io';
import { predictCodes } from '../models/predict';
import { deriveSeed, mulberry32 } from '../random';
import { importanceMetric, type ImportanceMetric } from './importance-metric';
import { RowReservoir, copyColumn, shuffleColumn, writeColumn } from './importance-sampling';

/** Rows per forward pass: large enough to amortise the per-call cost, small enough to bound the tensors (a few MB). */
const SCORING_CHUNK = 16384;
/** Rows per batch read from the shards while sampling. */
const READ_BATCH = 8192;

export type PermutationImportanceTask = ImportanceInput & { artifactStore: ArtifactStoreSettings };

/**
 * Permutation feature importance on the test split: the metric of the label's task (AUC, accuracy
 * or R², see importance-metric.ts) on a seeded sample of at most `maxRows` test rows, then, for
 * each feature and each of `repeats` seeded shuffles of that feature's codes across the sampled
 * rows, how far the metric drops. A feature the model ignores drops by about 0; one it depends on
 * drops by as much as it contributes. Features are shuffled one at a time, so two features made
 * from the same column (hour and weekday of one timestamp) each show only what the other does not
 * carry. Deterministic for a seed; `progress` gets the (feature, repeat) pairs done.
 */
export async function permutationImportance(input: PermutationImportanceTask, progress: (done: number) => void): Promise<ImportanceResult> {
  checkSettings(input);
  await initBackend();
  // Any transform format: a run fitted before an upgrade is explained on its v2 form.
  const transform = await readTransform(input.transform);
  const head = labelHead(transform);
  const metric = importanceMetric(head);
  const sample = await sampleTestRows(transform, input.shards, input.maxRows, input.seed);
  const { rows } = sample;
  const { model } = await loadSavedModel(input.model, transform);
  try {
    const scorer = new Scorer(model, transform, metric, sample.codes, sample.labels, rows, head.units);
    const baseline = await scorer.score();
    if (!Number.isFinite(baseline)) throw undefinedMetric(metric, rows);
    const featureCount = transform.features.length;
    const features: FeatureImportance[] = [];
    let done = 0;
    for (let f = 0; f < featureCount; f++) {
      const intact = copyColumn(sample.codes, rows, featureCount, f);
      const drops: number[] = [];
      for (let r = 0; r < input.repeats; r++) {
        shuffleColumn(sample.codes, rows, featureCount, f, mulberry32(deriveSeed(input.seed, 'permutation-importance', f, r)));
        drops.push(baseline - (await scorer.score()));
        // Each repeat shuffles the intact column, so a repeat's order never depends on the one before.
        writeColumn(sample.codes, rows, featureCount, f, intact);
        progress(++done);
      }
      features.push({ feature: transform.features[f]!.name, ...spread(drops), drops });
    }
    // A stable sort: features of equal drop keep the transform's order, so the result is deterministic.
    features.sort((a, b) => b.drop - a.drop);
    return { metric: metric.name, baseline, rows, repeats: input.repeats, features };
  } finally {
    model.dispose();
  }
}

function checkSettings(input: ImportanceInput): void {
  if (!Number.isInteger(input.repeats) || input.repeats < 1) {
    throw new PipelineInputError(`permutation importance: evaluation.importance.repeats must be a whole number of at least 1, got ${input.repeats}`);
  }
  if (!Number.isInteger(input.maxRows) || input.maxRows < 1) {
    throw new PipelineInputError(`permutation importance: evaluation.importance.maxRows must be a whole number of at least 1, got ${input.maxRows}`);
  }
}

/** The test rows' codes and labels: all of them when they fit in maxRows, else a seeded uniform sample of exactly maxRows. */
async function sampleTestRows(transform: FittedTransformV2, shards: EncodedShardRef[], maxRows: number, seed: number): Promise<RowReservoir> {
  const expected = shards.reduce((n, s) => n + s.testRows, 0);
  if (expected === 0) {
    throw new PipelineInputError('permutation importance needs test rows, and the encoded shards have none: raise the spec’s split.testFraction');
  }
  // Partition order, as evaluation reads them, so the sample does not depend on the order of the refs.
  const ordered = [...shards].sort((a, b) => a.partition - b.partition);
  const reservoir = new RowReservoir(Math.min(maxRows, expected), transform.features.length, mulberry32(deriveSeed(seed, 'permutation-importance', 'sample')));
  for await (const batch of modelBatches(transform, ordered, { split: 'test', batchSize: READ_BATCH })) reservoir.add(batch.codes, batch.y, batch.rows);
  if (reservoir.seen !== expected) throw new Error(`expected ${expected} test rows from the shard refs but read ${reservoir.seen}`);
  return reservoir;
}

/** Scores the sampled rows in chunks, into one reused output buffer. */
class Scorer {
  private readonly outputs: Float32Array;

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly transform: FittedTransformV2,
    private readonly metric: ImportanceMetric,
    private readonly codes: Float32Array,
    private readonly labels: Float32Array,
    private readonly rows: number,
    private readonly units: number,
  ) {
    this.outputs = new Float32Array(rows * units);
  }

  /** The metric of the rows as `codes` holds them now. */
  async score(): Promise<number> {
    const featureCount = this.transform.features.length;
    for (let start = 0; start < this.rows; start += SCORING_CHUNK) {
      const n = Math.min(SCORING_CHUNK, this.rows - start);
      const out = await predictCodes(this.model, this.transform, this.codes.subarray(start * featureCount, (start + n) * featureCount), n);
      if (out.length !== n * this.units) {
        throw new Error(`permutation importance: the model gave ${out.length / n} outputs per row, but the label needs ${this.units}`);
      }
      this.outputs.set(out, start * this.units);
    }
    return this.metric.score(this.outputs, this.labels, this.rows);
  }
}

/** Mean and sample standard deviation (n − 1) of the drops; 0 for a single repeat. */
function spread(drops: number[]): { drop: number; std: number } {
  const n = drops.length;
  const mean = drops.reduce((s, d) => s + d, 0) / n;
  if (n < 2) return { drop: mean, std: 0 };
  const variance = drops.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1);
  return { drop: mean, std: Math.sqrt(variance) };
}

function undefinedMetric(metric: ImportanceMetric, rows: number): PipelineInputError {
  const why =
    metric.name === 'auc' ? 'they hold only one class of the label' : metric.name === 'r2' ? 'the label has the same value on all of them' : 'there are none';
  return new PipelineInputError(
    `permutation importance: ${metric.name} is undefined on the ${rows} sampled test rows (${why}); sample more test rows (a larger evaluation.importance.maxRows or split.testFraction in the spec)`,
  );
}
