import { DataType, type Schema } from 'apache-arrow';
import { localArtifactPath, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import type { ShardRef } from '../../contracts/refs';
import { PipelineInputError } from '../errors';
import { featureColumnsOf, rowIdColumn, type PipelineSpec } from '../spec/pipeline-spec';
import { accumulate, CategoryCounts } from './fit-transform';
import { LabelFit, staticLabel, type LabelFitState } from './label-fit';
import { RowSplitter } from './row-splitter';
import { plainSplit } from './split';
import { TransformStatistics, type TransformStatisticsState } from './transform-statistics';
import type { FittedTransformV2 } from './transform-format';

/**
 * The transform fitted across sites without moving a row (federated training): each site makes the
 * pass fitTransform makes over its own shards and keeps what it learnt as plain JSON
 * (collectTransformStatistics); a coordinator merges every site's statistics and fits the transform
 * from the merge (fitTransformFromStatistics). Only the hash split is possible: a time or
 * stratified split learns its thresholds from a pass over all the rows, before the fit.
 */

export const TRANSFORM_STATISTICS_FORMAT = 'pipewright.transform-statistics/v1';

/** What one site sends the coordinator. */
export interface TransformStatisticsPayload {
  format: typeof TRANSFORM_STATISTICS_FORMAT;
  /** Rows read, every split; the train rows are statistics.rows. */
  rows: number;
  statistics: TransformStatisticsState;
  /** What the label learnt ("classes": "auto", regression); absent when the spec fixes it. */
  label?: LabelFitState;
  /** Kind of each feature and label column in the site's shards: number, text, timestamp (or the Arrow type). */
  columns: Record<string, string>;
}

export interface CollectStatisticsTask {
  artifactStore: ArtifactStoreSettings;
  spec: PipelineSpec;
  shards: ShardRef[];
}

/** A time split or a stratified split needs a pass over every site's rows before the fit; refused, naming the setting to remove. */
function refuseDataSplit(spec: PipelineSpec): void {
  const set = [spec.split.timeColumn !== undefined ? 'split.timeColumn' : null, spec.split.stratify === true ? 'split.stratify' : null].filter(
    (s) => s !== null,
  );
  if (set.length === 0) return;
  throw new PipelineInputError(
    `federated training supports the hash split only: remove split.timeColumn / split.stratify (this spec sets ${set.join(' and ')})`,
  );
}

/** The columns a fit reads and sites must agree on: every feature's, and the label's. */
function fittedColumnsOf(spec: PipelineSpec): string[] {
  return [...new Set([...spec.features.flatMap(featureColumnsOf), spec.label.column])];
}

function kindOf(type: DataType): string {
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'text';
  if (DataType.isInt(type) || DataType.isFloat(type)) return 'number';
  if (DataType.isTimestamp(type) || DataType.isDate(type)) return 'timestamp';
  return String(type);
}

/** Records each column's kind in `columns`; a column missing from a shard, or read differently by two of the site's shards, is refused. */
function checkSchema(schema: Schema, wanted: readonly string[], columns: Record<string, string>, shard: number): void {
  for (const name of wanted) {
    const field = schema.fields.find((f) => f.name === name);
    if (field === undefined) {
      throw new PipelineInputError(
        `shard ${shard} has no column "${name}", which the spec reads (it has: ${schema.fields.map((f) => f.name).join(', ')}); ingest the site's data with the same spec`,
      );
    }
    const kind = kindOf(field.type);
    const known = Object.hasOwn(columns, name) ? columns[name] : undefined;
    if (known === undefined) columns[name] = kind;
    else if (known !== kind)
      throw new PipelineInputError(
        `column "${name}" is ${kind} in shard ${shard} but ${known} in an earlier shard of this site; ingest every shard the same way`,
      );
  }
}

/**
 * One site's pass: the train rows of its shards (by the hash split every site computes alike) into
 * the statistics fitTransform keeps, returned as plain JSON instead of fitted. Memory: one batch plus
 * the statistics, as fitTransform.
 */
export async function collectTransformStatistics(task: CollectStatisticsTask, progress: (rows: number) => void): Promise<TransformStatisticsPayload> {
  const { spec } = task;
  refuseDataSplit(spec);
  const known = staticLabel(spec.label);
  const labelFit = known === null ? new LabelFit(spec.label) : null;
  const rowId = rowIdColumn(spec.source);
  const splitter = new RowSplitter(rowId, known, plainSplit(spec));
  const stats = new TransformStatistics(spec.features);
  const categories = new CategoryCounts(spec);
  const wanted = fittedColumnsOf(spec);
  const columns: Record<string, string> = {};
  let seen = 0;
  for (const [index, shard] of task.shards.entries()) {
    let first = true;
    for await (const batch of readShardBatches(await localArtifactPath(shard.uri))) {
      if (first) {
        checkSchema(batch.schema, [rowId], {}, index);
        checkSchema(batch.schema, wanted, columns, index);
        first = false;
      }
      const isTest = accumulate(stats, categories, spec, splitter.split(batch), batch);
      labelFit?.add(batch.getChild(spec.label.column)!.data[0]!, batch.numRows, isTest);
      seen += batch.numRows;
      progress(seen);
    }
  }
  categories.addTo(stats);
  return {
    format: TRANSFORM_STATISTICS_FORMAT,
    rows: seen,
    statistics: stats.state(),
    ...(labelFit !== null ? { label: labelFit.state() } : {}),
    columns,
  };
}

/** Runs a merge step, turning its failure into a PipelineInputError that names the site. */
function atSite<T>(site: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof PipelineInputError) throw err;
    throw new PipelineInputError(`site "${site}": ${(err as Error).message}`);
  }
}

/**
 * The coordinator's fit: every site's statistics merged in the order given, then fitted as
 * fitTransform fits its own. Counts, vocabularies, extremes and exact quantiles are the same in any
 * order; means and deviations agree up to rounding. A site whose payload cannot be merged (another
 * format, other column kinds, another spec) is refused by name.
 */
export function fitTransformFromStatistics(
  spec: PipelineSpec,
  parts: ReadonlyArray<{ site: string; statistics: TransformStatisticsPayload }>,
): FittedTransformV2 {
  refuseDataSplit(spec);
  if (parts.length === 0) throw new PipelineInputError('no site sent statistics: collect them at each site (collectTransformStatistics) first');
  const known = staticLabel(spec.label);
  const labelFit = known === null ? new LabelFit(spec.label) : null;
  const stats = new TransformStatistics(spec.features);
  const wanted = fittedColumnsOf(spec);
  const sites = new Set<string>();
  const first = parts[0]!;
  for (const { site, statistics: payload } of parts) {
    if (sites.has(site)) throw new PipelineInputError(`site "${site}" is given twice; give each site's statistics once`);
    sites.add(site);
    const format: unknown = (payload as { format?: unknown }).format;
    if (format !== TRANSFORM_STATISTICS_FORMAT) {
      throw new PipelineInputError(
        `site "${site}": its statistics have format ${JSON.stringify(format)}; this pipewright reads ${TRANSFORM_STATISTICS_FORMAT}: collect them again with this pipewright`,
      );
    }
    for (const column of wanted) {
      const kind = Object.hasOwn(payload.columns, column) ? payload.columns[column] : undefined;
      const expected = Object.hasOwn(first.statistics.columns, column) ? first.statistics.columns[column] : undefined;
      if (kind === undefined) {
        throw new PipelineInputError(`site "${site}": its statistics have no column "${column}", which the spec reads; collect them with this spec`);
      }
      if (expected !== undefined && kind !== expected) {
        throw new PipelineInputError(
          `site "${site}": column "${column}" is ${kind}, but site "${first.site}" has it as ${expected}; ` +
            `every site must read a column the same way: cast it (e.g. in the site's source.query) so that it is ${expected} everywhere`,
        );
      }
    }
    atSite(site, () => stats.merge(payload.statistics));
    if (labelFit !== null) {
      const label = payload.label;
      if (label === undefined) {
        throw new PipelineInputError(
          `site "${site}": its statistics have no label state, which label "${spec.label.column}" needs; collect them with this spec`,
        );
      }
      atSite(site, () => labelFit.merge(label));
    }
  }
  if (stats.rows === 0) {
    throw new PipelineInputError(
      `the train split is empty at every site (${[...sites].map((s) => `"${s}"`).join(', ')}): there are no rows to fit the transform on; check each site's source and split.testFraction`,
    );
  }
  return stats.fit(spec, plainSplit(spec), known ?? labelFit!.fit());
}
