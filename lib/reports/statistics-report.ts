import type { DatasetSummary, NumericSummary, TextSummary } from '../statistics/dataset-stats';

/** Up to 4 significant digits, thousands grouped, no exponent for everyday magnitudes. */
function num(value: number | null): string {
  if (value === null) return '-';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(part === 0 || part === whole ? 0 : 1)}%`;
}

/** Left-aligned columns separated by two spaces. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [header, ...rows].map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
}

function numericRow(name: string, s: NumericSummary): string[] {
  const show = s.kind === 'timestamp' ? time : num;
  const bad = s.nan + s.infinite;
  return [
    name,
    num(s.count),
    percent(s.missing, s.count),
    bad === 0 ? '0' : `${num(s.nan)} NaN, ${num(s.infinite)} inf`,
    show(s.min),
    show(s.quantiles?.p50 ?? null),
    s.kind === 'timestamp' ? '' : num(s.mean),
    s.kind === 'timestamp' ? '' : num(s.stddev),
    show(s.max),
  ];
}

function textRow(name: string, s: TextSummary, topValues: number): string[] {
  const present = s.count - s.missing;
  const top = s.topK
    .slice(0, topValues)
    .map((t) => `${JSON.stringify(t.value)} ${percent(t.count, present)}`)
    .join(', ');
  return [name, num(s.count), percent(s.missing, s.count), `${s.distinctExact ? '' : '~'}${num(s.distinct)}`, top];
}

/** The dataset's statistics as text: one table for numeric and time columns, one for text columns. */
export function formatStatisticsSummary(summary: DatasetSummary, topValues = 5): string {
  const entries = Object.entries(summary.columns);
  const numeric = entries.filter((e): e is [string, NumericSummary] => e[1].kind !== 'text');
  const text = entries.filter((e): e is [string, TextSummary] => e[1].kind === 'text');
  const lines = [`Statistics of ${num(summary.rows)} rows`];
  if (numeric.length > 0) {
    lines.push(
      '',
      ...table(
        ['column', 'count', 'missing', 'non-finite', 'min', 'median', 'mean', 'stddev', 'max'],
        numeric.map(([n, s]) => numericRow(n, s)),
      ),
    );
  }
  if (text.length > 0) {
    lines.push(
      '',
      ...table(
        ['column', 'count', 'missing', 'distinct', `top values (of present)`],
        text.map(([n, s]) => textRow(n, s, topValues)),
      ),
    );
  }
  return lines.join('\n');
}
