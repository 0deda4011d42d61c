import type {
  CrossValidationResult,
  EvaluateResult,
  EvaluationMetrics,
  EvaluationStepResult,
  SearchResult,
  SearchSummary,
  TrainModelResult,
  TrainingCurves,
} from '../../contracts';
import { HEADLINE_METRIC } from '../../contracts/metric-names';
import type { MetricTask } from '../../contracts/metric-names';

/**
 * The evaluate step's result in one shape: runs before per-shard states returned the metrics with
 * the backend beside them and no report (the step cache may hold either).
 */
export function asEvaluationStep(
  result: EvaluateResult | EvaluationStepResult,
): EvaluationStepResult | (Omit<EvaluationStepResult, 'report'> & { report?: undefined }) {
  if ('report' in result && 'metrics' in result) return result;
  const { backend, ...metrics } = result as EvaluateResult;
  return { metrics: metrics as EvaluationMetrics, backend };
}

/** The task of a metrics record; records without one predate multiclass and regression, so they are binary. */
export function metricsTask(metrics: EvaluationMetrics): MetricTask {
  return metrics.task ?? 'binary';
}

/** The loss curves a model version keeps for its report. */
export function trainingCurves(trained: TrainModelResult): TrainingCurves {
  return { trainLoss: trained.losses, ...(trained.validationLosses ? { validationLoss: trained.validationLosses } : {}) };
}

/** The task's headline metric over the folds, for the run's progress (the full summary goes to the result and the registry). */
export function headlineOfFolds(cv: CrossValidationResult, task: MetricTask): { folds: number; metric: string; mean: number; std: number } {
  const metric = HEADLINE_METRIC[task];
  const summary = cv.metrics[metric];
  return { folds: cv.folds, metric, mean: summary?.mean ?? Number.NaN, std: summary?.std ?? Number.NaN };
}

/** What a search leaves on record: every trial and the best one, without the best trial's model refs (the version has them). */
export function searchSummary(search: SearchResult): SearchSummary {
  const { result: _model, ...best } = search.best;
  return { metric: search.metric, best, trials: search.trials };
}
