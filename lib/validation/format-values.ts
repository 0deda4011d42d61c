import type { ColumnKind } from '../data/source-schema';

/**
 * How numbers read in anomaly messages and the CLI report. Locale-free on purpose: the same
 * statistics must give the same report text on every worker and in every test.
 */

/** An integer with thousands separators: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  return (
    sign +
    Math.round(Math.abs(n))
      .toString()
      .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  );
}

/**
 * A fraction as a percentage: one decimal from 10%, two below, two significant digits under 0.01%
 * (so a small non-zero fraction never reads as 0%), trailing zeros dropped (5%, 2.5%, 99.5%).
 */
export function formatPercent(fraction: number): string {
  const pct = 100 * fraction;
  if (pct === 0 || !Number.isFinite(pct)) return `${pct}%`;
  const abs = Math.abs(pct);
  const rounded = abs >= 10 ? pct.toFixed(1) : abs >= 0.01 ? pct.toFixed(2) : pct.toPrecision(2);
  return `${Number(rounded)}%`;
}

/** A distance or divergence in [0, 1]. */
export function formatDistance(d: number): string {
  return d.toFixed(4);
}

/** A column value: epoch milliseconds as an ISO instant for timestamps, else a short number. */
export function formatValue(kind: ColumnKind, v: number): string {
  if (kind === 'timestamp' && Math.abs(v) <= 8.64e15) return new Date(v).toISOString();
  if (Number.isInteger(v)) return String(v);
  // Six significant digits, without the trailing zeros toPrecision pads with.
  return String(Number(v.toPrecision(6)));
}

/** A text value, quoted, shortened when long (a message names it, it does not need all of it). */
export function formatCategory(value: string): string {
  const short = value.length > 40 ? `${value.slice(0, 37)}...` : value;
  return JSON.stringify(short);
}
