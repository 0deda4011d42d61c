import { crossValidationProblem, MAX_FOLD_STRATA, type FoldPlan } from '../../contracts/cross-validation';
import type { ShardRef } from '../../contracts/refs';
import { localArtifactPath } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import { PipelineInputError } from '../errors';
import { rowIdColumn, type PipelineSpec } from '../spec/pipeline-spec';
import { resolveSplit } from './fit-transform';
import { foldAllocation, foldCuts, HashList } from './fold-bounds';
import { LabelEncoder } from './label-encoder';
import { LabelFit, staticLabel } from './label-fit';
import { taskOf } from './label-task';
import { RowSplitter } from './row-splitter';
import { hashKey, SPLIT_CODE } from './split';
import type { FittedLabel, FittedMulticlassLabel } from './transform-format';

export interface PlanFoldsTask {
  spec: PipelineSpec;
  shards: ShardRef[];
  folds: number;
  stratify: boolean;
}

/**
 * Cuts the train split into k folds: one pass over the row id and label columns collects, per stratum
 * (label class, or one for a regression label or unstratified folds), the split hash of every row the
 * outer split makes train; each stratum's sorted hashes are cut into k runs whose sizes are
 * StratifiedKFold's (see fold-bounds.ts). The plan is the cut points: classes × (k − 1) numbers.
 * The outer split is resolved as the fit resolves it, so the folds partition exactly its train rows.
 * Memory: 4 bytes per train row.
 */
export async function planFolds(task: PlanFoldsTask, progress: (rows: number) => void): Promise<FoldPlan> {
  const { spec, shards, folds: k } = task;
  const problem = crossValidationProblem(k, spec.split);
  if (problem !== null) throw new PipelineInputError(problem);
  const { split: outer, label: labelOfSplit } = await resolveSplit(spec, shards);
  const stratified = task.stratify && taskOf(spec.label) !== 'regression';
  const fixed = labelOfSplit ?? staticLabel(spec.label);
  // The strata: the label's classes when they are known before the pass, else ("auto", not fixed by a
  // stratified outer split) the classes of the train rows, found in the pass.
  const encoder = stratified && fixed !== null ? new LabelEncoder(fixed) : null;
  const discover = stratified && fixed === null ? new LabelFit(spec.label) : null;
  const splitter = new RowSplitter(rowIdColumn(spec.source), fixed, outer);
  const lists: HashList[] = [];
  let indices = new Int32Array(0);
  let seen = 0;
  for (const shard of shards) {
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      const n = batch.numRows;
      const codes = splitter.split(batch);
      const keys = batch.getChild(rowIdColumn(spec.source))!.toArray() as Float64Array;
      let strata: ArrayLike<number> | null = null;
      if (encoder !== null) strata = encoder.encode(batch.getChild(spec.label.column)!.data[0]!, n);
      else if (discover !== null) {
        if (indices.length < n) indices = new Int32Array(n);
        const held = new Uint8Array(n);
        for (let r = 0; r < n; r++) held[r] = codes[r] === SPLIT_CODE.train ? 0 : 1;
        discover.add(batch.getChild(spec.label.column)!.data[0]!, n, held, indices);
        strata = indices;
      }
      for (let r = 0; r < n; r++) {
        if (codes[r] !== SPLIT_CODE.train) continue;
        const stratum = strata === null ? 0 : strata[r]!;
        // Not a class: ingest quarantines such rows, and "auto" past its limit fails at fit() below.
        if (!(stratum >= 0)) continue;
        if (stratum >= MAX_FOLD_STRATA) throw tooManyClasses(spec);
        (lists[stratum] ??= new HashList()).push(hashKey(keys[r]!, outer.seed));
      }
      seen += n;
      progress(seen);
    }
  }
  let label: FittedLabel | undefined = stratified ? (fixed ?? undefined) : undefined;
  let byStratum = lists;
  if (discover !== null) {
    // Found in discovery order; the strata are stored by class index (the sorted classes).
    const found = discover.fit() as FittedMulticlassLabel;
    label = found;
    byStratum = found.classes.map((c) => lists[discover.discoveryIndex(c)]!);
  }
  const strataCount = label === undefined ? 1 : classCount(label);
  if (strataCount > MAX_FOLD_STRATA) throw tooManyClasses(spec);
  const sorted = Array.from({ length: strataCount }, (_, s) => byStratum[s]?.sorted() ?? new Uint32Array(0));
  const counts = sorted.map((h) => h.length);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total < k) {
    throw new PipelineInputError(
      `cross-validation: the train split has ${total} row${total === 1 ? '' : 's'}, fewer than the ${k} folds; use fewer folds (evaluation.crossValidation.folds)`,
    );
  }
  if (label !== undefined) assertEveryFoldHasEveryClass(counts, k, label);
  const allocation = foldAllocation(counts, k);
  return {
    k,
    stratified: label !== undefined,
    bounds: sorted.map((hashes, s) => foldCuts(hashes, allocation[s]!)),
    ...(label !== undefined ? { strata: label } : {}),
    testRows: Array.from({ length: k }, (_, j) => allocation.reduce((n, sizes) => n + sizes[j]!, 0)),
  };
}

function tooManyClasses(spec: PipelineSpec): PipelineInputError {
  return new PipelineInputError(
    `cross-validation: label "${spec.label.column}" has more than ${MAX_FOLD_STRATA} classes to stratify folds by; set evaluation.crossValidation.stratify to false`,
  );
}

/**
 * A stratified fold needs train and test rows of every class there is: a class with fewer train rows
 * than folds leaves some fold without a test row of it. (A class with no train row at all is in no
 * fold, as StratifiedKFold sees only the classes present; the outer split already lacks it.) Names
 * the least populated class, as StratifiedKFold's warning does, and the most folds it allows.
 */
function assertEveryFoldHasEveryClass(counts: readonly number[], k: number, label: FittedLabel): void {
  let least = -1;
  counts.forEach((n, c) => {
    if (n > 0 && n < k && (least < 0 || n < counts[least]!)) least = c;
  });
  if (least < 0) return;
  const n = counts[least]!;
  const fix =
    n >= 2
      ? `use at most ${n} folds (evaluation.crossValidation.folds), or set evaluation.crossValidation.stratify to false`
      : 'one row cannot be in every fold: set evaluation.crossValidation.stratify to false';
  throw new PipelineInputError(
    `cross-validation: ${describeClass(label, least)} has ${n} train row${n === 1 ? '' : 's'}, fewer than the ${k} folds, ` +
      `so a stratified fold would have no test row of it; ${fix}`,
  );
}

/** Classes of a label that has them: 2 for a binary one. */
function classCount(label: FittedLabel): number {
  return 'task' in label && label.task === 'multiclass' ? label.classes.length : 2;
}

/** A class as the user knows it: the multiclass value, or which side of a binary label. */
function describeClass(label: FittedLabel, index: number): string {
  if ('task' in label && label.task === 'multiclass') return `class ${JSON.stringify(label.classes[index])} of label "${label.column}"`;
  const positive =
    'greaterThan' in label ? `${label.column} > ${label.greaterThan}` : `${label.column} in ${JSON.stringify((label as { oneOf: unknown }).oneOf)}`;
  return `the ${index === 1 ? 'positive' : 'negative'} class (${index === 1 ? '' : 'not '}${positive})`;
}
