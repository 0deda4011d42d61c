import { higherIsBetter, type MetricTask } from '../../contracts/metric-names';
import type { Blessing, BlessingCheck, EvaluationMetrics } from '../../contracts';
import type { ThresholdSpec } from '../../lib/spec/evaluation-spec';

/** The production model the candidate is compared with, or why it could not be measured on these rows. */
export type BaselineOutcome = { version: number; metrics: EvaluationMetrics } | { version: number; incomparable: string } | undefined;

/** A figure of a metrics record by name; NaN when the record does not hold it (an older record, an undefined figure). */
export function metricValue(metrics: EvaluationMetrics, name: string): number {
  const value = (metrics as unknown as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : Number.NaN;
}

const fmt = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : 'n/a');

/**
 * TFX's Evaluator blessing: the candidate passes when every threshold does. A value threshold bounds
 * the candidate's figure; a change threshold bounds how far it may trail production on the same test
 * rows. Without a production version (the first model of its name) change thresholds pass; with one
 * that could not be measured on these rows they fail, since nothing shows the candidate is no worse.
 * An undefined figure (NaN) fails its threshold. Pure: the workflow calls it, so it replays.
 */
export function judgeBlessing(task: MetricTask, thresholds: readonly ThresholdSpec[], candidate: EvaluationMetrics, baseline: BaselineOutcome): Blessing {
  const checks: BlessingCheck[] = [];
  for (const t of thresholds) {
    const value = metricValue(candidate, t.metric);
    const higher = higherIsBetter(task, t.metric) ?? true;
    if (t.min !== undefined || t.max !== undefined) {
      const passed = Number.isFinite(value) && (t.min === undefined || value >= t.min) && (t.max === undefined || value <= t.max);
      const bound = [t.min !== undefined ? `≥ ${t.min}` : '', t.max !== undefined ? `≤ ${t.max}` : ''].filter(Boolean).join(' and ');
      checks.push({ metric: t.metric, kind: 'value', passed, value, message: `${t.metric} ${fmt(value)} ${passed ? 'is' : 'is not'} ${bound}` });
    }
    if (t.vsProduction) {
      const { tolerance, relative } = t.vsProduction;
      const allowed = relative ? `${fmt(100 * tolerance)}%` : fmt(tolerance);
      if (baseline === undefined) {
        checks.push({ metric: t.metric, kind: 'change', passed: true, value, message: `${t.metric}: no production version to compare with (first model)` });
      } else if ('incomparable' in baseline) {
        checks.push({
          metric: t.metric,
          kind: 'change',
          passed: false,
          value,
          message: `${t.metric}: production v${baseline.version} could not be measured on these test rows (${baseline.incomparable}); compare by hand and promote with \`pipewright models promote\``,
        });
      } else {
        const base = metricValue(baseline.metrics, t.metric);
        // How much worse the candidate is, in the metric's units (negative: better).
        const worseBy = higher ? base - value : value - base;
        const limit = relative ? tolerance * Math.abs(base) : tolerance;
        const passed = Number.isFinite(worseBy) && worseBy <= limit;
        const change = `${value >= base ? '+' : ''}${fmt(value - base)}`;
        checks.push({
          metric: t.metric,
          kind: 'change',
          passed,
          value,
          baseline: base,
          message: `${t.metric} ${fmt(value)} vs production v${baseline.version} ${fmt(base)} (${change}): ${passed ? 'within' : 'worse than'} the allowed ${tolerance < 0 ? 'improvement of' : 'drop of'} ${tolerance < 0 ? allowed.replace('-', '') : allowed}`,
        });
      }
    }
  }
  const failed = checks.filter((c) => !c.passed);
  const blessed = failed.length === 0;
  const reason =
    checks.length === 0
      ? 'blessed: no thresholds set'
      : blessed
        ? `blessed: ${checks.map((c) => c.message).join('; ')}`
        : `not blessed: ${failed.map((c) => c.message).join('; ')}`;
  const comparedWith = baseline && 'metrics' in baseline ? { baseline: { version: baseline.version, metrics: baseline.metrics } } : {};
  return { blessed, ...comparedWith, checks, reason };
}
