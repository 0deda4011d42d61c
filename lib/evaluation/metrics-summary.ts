import type { BinaryMetrics, EvaluationMetrics } from '../../contracts/refs';
import type { Task } from '../features/label-task';

/** The task of a metrics record; a record without one (written before other tasks existed) is binary. */
export function metricsTask(m: EvaluationMetrics): Task {
  return m.task ?? 'binary';
}

/** The record as binary metrics, or an error naming its task (for callers that only handle binary labels). */
export function binaryMetricsOf(m: EvaluationMetrics): BinaryMetrics {
  if (m.task !== undefined && m.task !== 'binary') throw new Error(`expected the metrics of a binary label, got ${m.task} metrics`);
  return m;
}

/** A figure to `digits` decimals; "n/a" where it is undefined (NaN, stored as null in JSON). */
function figure(x: number | null | undefined, digits = 4): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** A value in the label's units: up to 4 significant decimals, without trailing noise. */
function amount(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(6))) : 'n/a';
}

/** The headline figures of a run on one line, as the CLI shows them (`run`, `status`, `models`). */
export function formatMetrics(m: EvaluationMetrics): string {
  switch (m.task) {
    case 'multiclass':
      return (
        `accuracy ${figure(m.accuracy)} · log loss ${figure(m.logLoss)} · macro F1 ${figure(m.macroF1)} · ` +
        `${m.perClass.length} classes · ${m.rows} test rows`
      );
    case 'regression':
      return `RMSE ${amount(m.rmse)} · MAE ${amount(m.mae)} · R² ${figure(m.r2)} · ${m.rows} test rows`;
    default:
      return (
        `AUC ${figure(m.auc)} · log loss ${figure(m.logLoss)} · accuracy ${figure(m.accuracy)} · ` +
        `${m.rows} test rows (${figure(typeof m.positiveRate === 'number' ? 100 * m.positiveRate : m.positiveRate, 1)}% positive)`
      );
  }
}

/** Per-class lines of multiclass metrics (none for the other tasks), at most `limit` classes by support. */
export function formatClassMetrics(m: EvaluationMetrics, limit = 20): string[] {
  if (m.task !== 'multiclass') return [];
  const width = Math.min(24, Math.max(5, ...m.perClass.map((c) => c.class.length)));
  const shown = [...m.perClass].sort((a, b) => b.support - a.support).slice(0, limit);
  const lines = [`${'class'.padEnd(width)}  precision  recall  F1      support`];
  for (const c of shown) {
    const name = c.class.length > width ? `${c.class.slice(0, width - 1)}…` : c.class.padEnd(width);
    lines.push(`${name}  ${figure(c.precision).padEnd(9)}  ${figure(c.recall).padEnd(6)}  ${figure(c.f1).padEnd(6)}  ${c.support}`);
  }
  if (m.perClass.length > shown.length) lines.push(`(${m.perClass.length - shown.length} smaller classes not shown)`);
  return lines;
}
