import type { RecordBatch, Table } from 'apache-arrow';
import type { ColumnKind } from '../data/source-schema';
import { columnOf, numberChunks, utf8Chunks } from './arrow-columns';
import { addTextChunks, emptyTextState, mergeTextStates, summarizeText, type TextColumnState, type TextSummary } from './categorical-stats';
import { addNumberChunk, emptyNumericState, mergeNumericStates, summarizeNumeric, type NumericColumnState, type NumericSummary } from './numeric-stats';

export type { DDSketchState, KeyRun } from './ddsketch';
export type { WidthSketchState } from './width-sketch';
export type { DistinctSketchState } from './distinct-sketch';
export type { FixedHistogramState, Histogram } from './histogram';
export type { NumberColumnState, NumericColumnState, NumericSummary, Quantiles, TimestampColumnState } from './numeric-stats';
export type { TextColumnState, TextSummary } from './categorical-stats';

/**
 * Mergeable dataset statistics, in the manner of TFX StatisticsGen: each ingested shard's batches
 * are accumulated on its own worker, the states are merged in any order, and the merge is the
 * statistics of the whole dataset (see each column type for what is exact). A state is plain JSON
 * and reads back from JSON.stringify/parse as written, so it travels as an artifact.
 */
export interface DatasetStatistics {
  rows: number;
  columns: Record<string, ColumnStatistics>;
}

export type ColumnStatistics = NumericColumnState | TextColumnState;

export interface StatisticsColumn {
  name: string;
  kind: ColumnKind;
  /** number and timestamp columns: edges of an exact fixed-edge histogram, kept alongside the sketch. */
  histogramEdges?: readonly number[];
}

export interface StatisticsOptions {
  /** DDSketch relative accuracy of number columns' quantiles. */
  relativeAccuracy?: number;
  /** Most buckets a timestamp column's sketch keeps (its error grows with the time span over this). */
  timestampBins?: number;
  /** Distinct values per text column counted exactly. */
  topKCap?: number;
}

/** Statistics of no rows: the identity of mergeStatistics. */
export function createStatistics(columns: readonly StatisticsColumn[], options: StatisticsOptions = {}): DatasetStatistics {
  const names = new Set<string>();
  for (const { name } of columns) {
    if (names.has(name)) throw new Error(`column "${name}" is listed twice`);
    names.add(name);
  }
  return {
    rows: 0,
    // fromEntries defines own properties, so a column named "__proto__" is an ordinary entry.
    columns: Object.fromEntries(
      columns.map((c): [string, ColumnStatistics] => [
        c.name,
        c.kind === 'text'
          ? emptyTextState(options.topKCap)
          : emptyNumericState(c.kind, { relativeAccuracy: options.relativeAccuracy, timestampBins: options.timestampBins, histogramEdges: c.histogramEdges }),
      ]),
    ),
  };
}

/** Adds a batch (or every batch of a table) to `stats`, in place, and returns it. */
export function accumulateStatistics(stats: DatasetStatistics, input: RecordBatch | Table): DatasetStatistics {
  let scratch: Float64Array | null = null;
  for (const [name, state] of Object.entries(stats.columns)) {
    const vector = columnOf(input, name);
    if (state.kind === 'text') {
      addTextChunks(state, utf8Chunks(vector, name));
      continue;
    }
    for (const chunk of numberChunks(vector, name)) {
      if (scratch === null || scratch.length < chunk.length) scratch = new Float64Array(chunk.length);
      addNumberChunk(state, chunk, scratch);
    }
  }
  stats.rows += input.numRows;
  return stats;
}

/** The statistics of one batch or table. */
export function computeBatchStatistics(input: RecordBatch | Table, columns: readonly StatisticsColumn[], options: StatisticsOptions = {}): DatasetStatistics {
  return accumulateStatistics(createStatistics(columns, options), input);
}

/**
 * The statistics of the union of two datasets; a new state, the inputs untouched. Counts, min, max,
 * sketches, fixed histograms and distinct sketches merge exactly, associatively and commutatively;
 * mean and variance commute exactly and associate up to rounding; top-K as categorical-stats.ts says.
 */
export function mergeStatistics(a: DatasetStatistics, b: DatasetStatistics): DatasetStatistics {
  const names = Object.keys(a.columns);
  const other = Object.keys(b.columns);
  if (names.length !== other.length || other.some((name) => !Object.hasOwn(a.columns, name))) {
    throw new Error(`cannot merge statistics of different columns: [${names.join(', ')}] and [${other.join(', ')}]`);
  }
  return {
    rows: a.rows + b.rows,
    columns: Object.fromEntries(
      names.map((name): [string, ColumnStatistics] => {
        const x = a.columns[name]!;
        const y = b.columns[name]!;
        if (x.kind === 'text' && y.kind === 'text') return [name, mergeTextStates(x, y)];
        if (x.kind !== 'text' && y.kind !== 'text') return [name, mergeNumericStates(x, y)];
        throw new Error(`cannot merge column "${name}": ${x.kind} and ${y.kind}`);
      }),
    ),
  };
}

/** Merges any number of states (none gives null). */
export function mergeAllStatistics(states: readonly DatasetStatistics[]): DatasetStatistics | null {
  return states.length === 0 ? null : states.reduce((acc, s) => mergeStatistics(acc, s));
}

export type ColumnSummary = NumericSummary | TextSummary;

export interface DatasetSummary {
  rows: number;
  columns: Record<string, ColumnSummary>;
}

export interface SummaryOptions {
  /** Values listed per text column. */
  topK?: number;
  /** Buckets of the equal-width histogram. */
  histogramBuckets?: number;
}

/** A report of the statistics, plain JSON (nulls where a column had no values to describe). */
export function finalizeStatistics(stats: DatasetStatistics, options: SummaryOptions = {}): DatasetSummary {
  const topK = options.topK ?? 20;
  const buckets = options.histogramBuckets ?? 20;
  return {
    rows: stats.rows,
    columns: Object.fromEntries(
      Object.entries(stats.columns).map(([name, state]): [string, ColumnSummary] => [
        name,
        state.kind === 'text' ? summarizeText(state, topK) : summarizeNumeric(state, buckets),
      ]),
    ),
  };
}
