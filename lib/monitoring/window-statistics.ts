import { Float64, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { parseTimestamp } from '../serving/instances';
import { accumulateStatistics, createStatistics, type ColumnStatistics, type DatasetStatistics } from '../statistics/dataset-stats';

/**
 * The statistics of a serving window, in the very shape of the training statistics: the logged
 * rows' raw values go through the same builders (DDSketch, width sketch, top-K counts) with the same
 * options as the reference column (relative accuracy, timestamp bins, top-K cap, fixed edges), so
 * the drift measures of lib/validation/drift.ts compare them bucket for bucket.
 */

/** A logged row's raw features, as the client sent them (a key absent or null is a missing value). */
export type RawFeatures = Readonly<Record<string, unknown>>;

/** The reference columns the window is measured on: those given (or, by default, every one some row has), that the reference knows. */
export function servingColumns(reference: DatasetStatistics, rows: readonly RawFeatures[], columns?: readonly string[]): string[] {
  const known = (name: string): boolean => Object.hasOwn(reference.columns, name);
  if (columns !== undefined) return [...new Set(columns)].filter(known);
  const seen = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row)) seen.add(name);
  return Object.keys(reference.columns).filter((name) => seen.has(name));
}

/** A raw value as a number column's value: numbers, numeric text and booleans; anything else is missing. */
export function numberValue(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}

/** A raw value as a text column's value: text as it is, numbers and booleans as their text; null, objects and arrays are missing. */
export function textValue(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return null;
}

/** A raw value as a timestamp column's value (epoch ms; ISO text without a zone is UTC, as the model server reads it). */
export function timestampValue(value: unknown): number | null {
  return parseTimestamp(value) ?? null;
}

/** An empty state built like `reference`'s column, so both sides share sketch mapping, cap and edges. */
function emptyLike(name: string, reference: ColumnStatistics): DatasetStatistics {
  if (reference.kind === 'text') return createStatistics([{ name, kind: 'text' }], { topKCap: reference.cap });
  const histogramEdges = reference.fixed?.edges;
  return createStatistics(
    [{ name, kind: reference.kind, ...(histogramEdges ? { histogramEdges } : {}) }],
    reference.kind === 'number' ? { relativeAccuracy: reference.sketch.relativeAccuracy } : { timestampBins: reference.sketch.maxBins },
  );
}

/**
 * The window's statistics over `columns` (see servingColumns), one state per column built like the
 * reference's and filled from the rows' raw values. rows counts every logged row.
 */
export function windowStatistics(reference: DatasetStatistics, rows: readonly RawFeatures[], columns?: readonly string[]): DatasetStatistics {
  const out: DatasetStatistics = { rows: rows.length, columns: {} };
  for (const name of servingColumns(reference, rows, columns)) {
    const ref = reference.columns[name]!;
    const stats = emptyLike(name, ref);
    const raw = rows.map((row) => (Object.hasOwn(row, name) ? row[name] : null));
    const vector =
      ref.kind === 'text'
        ? vectorFromArray(raw.map(textValue), new Utf8())
        : vectorFromArray(raw.map(ref.kind === 'number' ? numberValue : timestampValue), new Float64());
    accumulateStatistics(stats, new Table({ [name]: vector }));
    out.columns[name] = stats.columns[name]!;
  }
  return out;
}
