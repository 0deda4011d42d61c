import type { SliceSpec } from '../../contracts/evaluation';
import type { FittedTransformV2 } from '../features/transform-format';
import type { EvaluationReport, SliceReport } from './evaluation-report';
import { sliceFeature, sliceValueName } from './slice-values';
import { binaryCurvesOf } from './states/binary-curves';
import type { EvaluationState, SliceStates } from './states/evaluation-state';
import { metricsOf, rowsOf } from './states/metric-state';
import { confusionRows } from './states/multiclass-state';
import { absoluteErrorQuantiles } from './states/regression-state';

/**
 * The full report of a (merged) evaluation state: the headline metrics, the task's curves or
 * matrices, and per slice spec its `top` values by rows. Every figure is a function of the state.
 */
export function evaluationReport(state: EvaluationState, transform: FittedTransformV2, slices: readonly SliceSpec[]): EvaluationReport {
  const overall = state.overall;
  const report: EvaluationReport = { task: overall.task, metrics: metricsOf(overall), rows: rowsOf(overall), slices: [] };
  switch (overall.task) {
    case 'binary':
      report.binary = binaryCurvesOf(overall);
      break;
    case 'multiclass':
      report.multiclass = { classes: [...overall.classes], confusion: confusionRows(overall) };
      break;
    case 'regression':
      report.regression = {
        absoluteErrorQuantiles: absoluteErrorQuantiles(overall),
        meanError: overall.rows > 0 ? overall.sumErrors / overall.rows : Number.NaN,
      };
      break;
  }
  report.slices = slices.map((spec) => sliceReport(state, transform, spec));
  return report;
}

function sliceReport(state: EvaluationState, transform: FittedTransformV2, spec: SliceSpec): SliceReport {
  const { feature } = sliceFeature(transform, spec.feature);
  if (!(Number.isInteger(spec.top) && spec.top >= 0)) throw new Error(`slice "${spec.feature}": top must be a whole number ≥ 0, got ${spec.top}`);
  const slice: SliceStates | undefined = state.slices.find((s) => s.feature === spec.feature);
  if (!slice) {
    const have = state.slices.map((s) => s.feature);
    throw new Error(
      `the metric states hold no slice by "${spec.feature}" (they hold ${have.length > 0 ? have.join(', ') : 'none'}): ` +
        'evaluate the shards with every feature of evaluation.slices',
    );
  }
  // Most rows first; equal rows in code order, so the report is the same on every run.
  const ranked = [...slice.values.entries()].map(([code, s]) => ({ code, s, rows: rowsOf(s) })).sort((a, b) => b.rows - a.rows || a.code - b.code);
  const shown = ranked.slice(0, spec.top);
  const rest = ranked.slice(spec.top);
  return {
    feature: spec.feature,
    values: shown.map(({ code, s, rows }) => ({ value: sliceValueName(feature, code), rows, metrics: metricsOf(s) })),
    otherValues: rest.length,
    otherRows: rest.reduce((n, v) => n + v.rows, 0),
  };
}
