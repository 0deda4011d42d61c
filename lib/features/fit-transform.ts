import type { Data, Float64, RecordBatch, Utf8 } from 'apache-arrow';
import { localArtifactPath, openArtifactStore, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import type { FoldRule } from '../../contracts/cross-validation';
import type { ShardRef, TransformRef } from '../../contracts/refs';
import { rowIdColumn, type PipelineSpec } from '../spec/pipeline-spec';
import { PipelineInputError } from '../errors';
import { addToWidthSketch, emptyWidthSketch, widthSketchCount, widthSketchQuantile } from '../statistics/width-sketch';
import { LabelEncoder } from './label-encoder';
import { LabelFit, staticLabel } from './label-fit';
import { RowSplitter } from './row-splitter';
import { plainSplit, SPLIT_CODE, StratumCounter, type SplitRule } from './split';
import { TransformStatistics } from './transform-statistics';
import type { FittedLabel, FittedMulticlassLabel, FittedTransformV2 } from './transform-format';
import { Utf8Interner } from './utf8-interner';

export interface FitTransformTask {
  artifactStore: ArtifactStoreSettings;
  spec: PipelineSpec;
  shards: ShardRef[];
  /** A cross-validation fold: the fit reads its train rows only, and the fitted split carries it (so every apply does too). */
  fold?: FoldRule;
}

/**
 * Streams the train rows of every shard once and fits every feature: scalers, imputations,
 * vocabularies, quantile boundaries. One pass for every kind: the imputed values join the scaling
 * statistics at the end instead of in a second pass (see NumericFit), and medians and quantiles
 * come from bounded value counts (see ValueDistribution). Memory is one batch plus the statistics.
 */
export async function fitTransform(input: FitTransformTask, progress: (rows: number) => void): Promise<TransformRef> {
  const { spec } = input;
  const resolved = await resolveSplit(spec, input.shards);
  const { label: labelOfSplit } = resolved;
  const split: SplitRule = input.fold ? { ...resolved.split, fold: input.fold } : resolved.split;
  // The label's classes or scale: from the spec, from the stratified split's pass, or learnt here from the train rows.
  const known = labelOfSplit ?? staticLabel(spec.label);
  const labelFit = known === null ? new LabelFit(spec.label) : null;
  const splitter = new RowSplitter(rowIdColumn(spec.source), known, split);
  const stats = new TransformStatistics(spec.features);
  const categories = new CategoryCounts(spec);
  let seen = 0;
  for (const shard of input.shards) {
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      const isTest = accumulate(stats, categories, spec, splitter.split(batch), batch);
      labelFit?.add(batch.getChild(spec.label.column)!.data[0]!, batch.numRows, isTest);
      seen += batch.numRows;
      progress(seen);
    }
  }
  categories.addTo(stats);
  if (stats.rows === 0) throw new Error('the train split is empty: there are no rows to fit the transform on');
  const fitted: FittedTransformV2 = stats.fit(spec, split, known ?? labelFit!.fit());
  const ref = await openArtifactStore(input.artifactStore).putJson('transforms', fitted);
  return { ...ref, inputDim: fitted.inputDim, trainRows: fitted.trainRows };
}

/** Train-split counts of each categorical feature's distinct values, by interned id. Exported for the federated fit's pass. */
export class CategoryCounts {
  private readonly features: Array<{ name: string; column: string; interner: Utf8Interner; counts: number[] }>;
  private ids = new Int32Array(0);

  constructor(spec: PipelineSpec) {
    this.features = spec.features.flatMap((f) =>
      f.kind === 'categorical' ? [{ name: f.name, column: f.column, interner: new Utf8Interner(), counts: [] }] : [],
    );
  }

  add(batch: RecordBatch, isTest: Uint8Array): void {
    if (this.ids.length < batch.numRows) this.ids = new Int32Array(batch.numRows);
    for (const f of this.features) {
      f.interner.intern(batch.getChild(f.column)!.data[0] as Data<Utf8>, this.ids);
      for (let r = 0; r < batch.numRows; r++) {
        const id = this.ids[r]!;
        if (isTest[r] || id < 0) continue;
        f.counts[id] = (f.counts[id] ?? 0) + 1;
      }
    }
  }

  addTo(stats: TransformStatistics): void {
    for (const f of this.features) f.counts.forEach((count, id) => stats.addCategory(f.name, f.interner.values[id]!, count));
  }
}

/**
 * A time split's instants and a stratified split's per-class thresholds come from the data, so they
 * take one pass over the column they need (the time, or the row id and label) before the fit: time
 * quantiles from a fine width sketch (within span / 65536 of exact), hash thresholds per class from
 * binned counts. A plain hash split needs no pass. A stratified split of a "classes": "auto" label
 * finds the classes in the same pass, over every row (each class is then split in the same
 * proportions, so each has train rows); they are returned as the fitted label. Exported for the
 * cross-validation plan, which cuts folds out of exactly the train rows the fit sees.
 */
export async function resolveSplit(spec: PipelineSpec, shards: readonly ShardRef[]): Promise<{ split: SplitRule; label: FittedLabel | null }> {
  const rule = plainSplit(spec);
  const { timeColumn, stratify } = spec.split;
  if (timeColumn === undefined && stratify !== true) return { split: rule, label: null };
  const validation = rule.validationFraction ?? 0;
  const sketch = emptyWidthSketch(TIME_SPLIT_BINS);
  const strata = new StratumCounter(rule.seed);
  const known = staticLabel(spec.label);
  const labels = known !== null ? new LabelEncoder(known) : null;
  const found = known === null ? new LabelFit(spec.label) : null;
  let indices = new Int32Array(0);
  for (const shard of shards) {
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      if (timeColumn !== undefined) {
        const times = batch.getChild(timeColumn)!.toArray() as Float64Array;
        addToWidthSketch(sketch, times, times.length);
        continue;
      }
      const keys = batch.getChild(rowIdColumn(spec.source))!.toArray() as Float64Array;
      const column = batch.getChild(spec.label.column)!.data[0]!;
      let label: ArrayLike<number>;
      if (labels !== null) label = labels.encode(column, batch.numRows);
      else {
        if (indices.length < batch.numRows) indices = new Int32Array(batch.numRows);
        found!.add(column, batch.numRows, null, indices);
        label = indices;
      }
      for (let r = 0; r < batch.numRows; r++) strata.add(keys[r]!, label[r]!);
    }
  }
  if (timeColumn === undefined) {
    const thresholds = strata.thresholds(rule.testFraction, validation);
    if (found === null) return { split: { ...rule, strata: thresholds }, label: null };
    // Counted by where each class was first found; stored by class index.
    const label = found.fit() as FittedMulticlassLabel;
    return { split: { ...rule, strata: label.classes.map((c) => thresholds[found.discoveryIndex(c)]!) }, label };
  }
  if (widthSketchCount(sketch) === 0) throw new PipelineInputError(`split.timeColumn: "${timeColumn}" has no values to split by.`);
  const testFrom = widthSketchQuantile(sketch, 1 - rule.testFraction);
  return {
    split: { ...rule, time: { column: timeColumn, testFrom, validationFrom: widthSketchQuantile(sketch, 1 - rule.testFraction - validation) } },
    label: null,
  };
}

/** Buckets of the time split's sketch: its instants land within the time span / TIME_SPLIT_BINS of the exact quantiles. */
const TIME_SPLIT_BINS = 1 << 16;

/** Adds the batch's train rows (split code 0) to the statistics; returns which rows it skipped (1: held out). */
export function accumulate(stats: TransformStatistics, categories: CategoryCounts, spec: PipelineSpec, codes: Uint8Array, batch: RecordBatch): Uint8Array {
  // The fit reads train rows only: everything held out (test, validation) is skipped as test rows were.
  const isTest = new Uint8Array(batch.numRows);
  for (let r = 0; r < batch.numRows; r++) {
    if (codes[r] !== SPLIT_CODE.train) isTest[r] = 1;
    else stats.rows++;
  }
  categories.add(batch, isTest);
  for (const f of spec.features) {
    // hashed, cross and the calendar kinds learn nothing from the data.
    if (f.kind !== 'numeric' && f.kind !== 'quantileBuckets') continue;
    const data = batch.getChild(f.column)!.data[0] as Data<Float64>;
    stats.addNumbers(f.name, data.values, data.nullCount > 0 ? data.nullBitmap : null, data.offset, isTest, batch.numRows);
  }
  return isTest;
}
