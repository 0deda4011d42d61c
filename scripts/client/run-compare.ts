import type { EvaluationMetrics } from '../../contracts/refs';
import { diffJson, diffValue } from '../../lib/registry/spec-diff';
import type { RunDetail } from '../../lib/registry/run-log';
import { textTable } from './text-table';

/** `runs compare`: two runs' metrics and stage times side by side with the difference, what changed in their specs, and whether they saw the same data. Pure. */

/** The fields of a run that the comparison reads (a RunDetail has them). */
export type ComparedRun = Pick<RunDetail, 'runId' | 'status' | 'metrics' | 'stageSeconds' | 'spec' | 'dataset' | 'model'>;

export interface CompareRow {
  name: string;
  a: number | null | undefined;
  b: number | null | undefined;
}

/** The numeric headline figures of a metrics record, in its own order (per-class figures and the task tag left out). */
export function metricFigures(m: ComparedRun['metrics']): Array<[string, number | null]> {
  if (!m || 'error' in m) return [];
  return Object.entries(m as EvaluationMetrics).flatMap(([k, x]): Array<[string, number | null]> => (typeof x === 'number' || x === null ? [[k, x]] : []));
}

/** One row per name either side has, in a's order then b's. */
export function pairRows(a: ReadonlyArray<[string, number | null]>, b: ReadonlyArray<[string, number | null]>): CompareRow[] {
  const ma = new Map(a);
  const mb = new Map(b);
  const names = [...ma.keys(), ...[...mb.keys()].filter((k) => !ma.has(k))];
  return names.map((name) => ({ name, a: ma.get(name), b: mb.get(name) }));
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** A figure: integers (counts) as they are unless `fixed`, others to `digits` decimals; "n/a" undefined (NaN, null), "-" absent. */
export function figure(x: number | null | undefined, digits = 4, fixed = false): string {
  if (x === undefined) return '-';
  if (!finite(x)) return 'n/a';
  return Number.isInteger(x) && !fixed ? String(x) : x.toFixed(digits);
}

/** b − a with its sign ("+0.0012", "-3", "0"); empty when either side has no figure. */
export function difference(a: number | null | undefined, b: number | null | undefined, digits = 4, fixed = false): string {
  if (!finite(a) || !finite(b)) return '';
  const d = b - a;
  const text = figure(d, digits, fixed || !Number.isInteger(a) || !Number.isInteger(b));
  if (Number(text) === 0) return '0';
  return d > 0 ? `+${text}` : text;
}

/** Rows as an aligned table with a header naming the runs; `fixed`: every figure to `digits` decimals (seconds), not counts as integers. */
export function compareTable(title: string, a: string, b: string, rows: readonly CompareRow[], digits = 4, fixed = false): string[] {
  return textTable(
    [[title, a, b, 'b − a'], ...rows.map((r) => [r.name, figure(r.a, digits, fixed), figure(r.b, digits, fixed), difference(r.a, r.b, digits, fixed)])],
    new Set([1, 2, 3]),
  );
}

function statusOf(run: ComparedRun): string {
  const m = run.metrics;
  return m && 'error' in m ? `${run.status} (in ${m.stage})` : run.status;
}

/** "equal (abc123456789)" or "differ: abc… vs def…"; "unknown" where a run has no record of it. */
export function hashComparison(a: string | undefined, b: string | undefined): string {
  if (!a || !b) return `unknown (${a ? a.slice(0, 12) : 'not recorded'} vs ${b ? b.slice(0, 12) : 'not recorded'})`;
  return a === b ? `equal (${a.slice(0, 12)})` : `differ: ${a.slice(0, 12)} vs ${b.slice(0, 12)}`;
}

/** The whole comparison, as the CLI prints it. */
export function compareRunLines(a: ComparedRun, b: ComparedRun): string[] {
  const lines = [
    ...textTable([
      ['', 'a', 'b'],
      ['run', a.runId, b.runId],
      ['status', statusOf(a), statusOf(b)],
      ['model', model(a), model(b)],
    ]),
  ];
  const metrics = pairRows(metricFigures(a.metrics), metricFigures(b.metrics));
  lines.push('', ...(metrics.length ? compareTable('metric', 'a', 'b', metrics) : ['no metrics to compare (a run did not finish evaluation)']));
  const stages = pairRows(Object.entries(a.stageSeconds ?? {}), Object.entries(b.stageSeconds ?? {}));
  if (stages.length) lines.push('', ...compareTable('seconds', 'a', 'b', stages, 1, true));
  lines.push('', `dataset    ${hashComparison(a.model?.datasetSha256 ?? a.dataset?.sha256, b.model?.datasetSha256 ?? b.dataset?.sha256)}`);
  lines.push(`transform  ${hashComparison(a.model?.transformSha256, b.model?.transformSha256)}`);
  const diffs = diffJson(a.spec, b.spec);
  lines.push('', diffs.length ? `spec: ${diffs.length} difference${diffs.length === 1 ? '' : 's'}` : 'spec: identical');
  lines.push(...textTable(diffs.map((d) => [`  ${d.path}`, diffValue(d.a), '→', diffValue(d.b)])));
  return lines;
}

function model(run: ComparedRun): string {
  if (!run.model) return '(none registered)';
  const blessing = run.model.blessing ? (run.model.blessing.blessed ? ' · blessed' : ' · not blessed') : '';
  return `${run.model.name} v${run.model.version}${blessing}`;
}
