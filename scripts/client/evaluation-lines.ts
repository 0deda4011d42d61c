import type { CrossValidationResult, SearchSummary } from '../../contracts';
import { HEADLINE_METRIC, type MetricTask } from '../../contracts/metric-names';

const fmt = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : 'n/a');

/** "3 stratified folds: auc 0.7412 ± 0.0031 (0.7391, 0.7448, 0.7397)", the task's headline metric over the folds. */
export function crossValidationLine(cv: CrossValidationResult, task: MetricTask): string {
  const metric = HEADLINE_METRIC[task];
  const m = cv.metrics[metric];
  const figures = m ? `${metric} ${fmt(m.mean)} ± ${fmt(m.std)} (${m.values.map(fmt).join(', ')})` : `no ${metric} in the folds' metrics`;
  return `${cv.folds} ${cv.stratified ? 'stratified ' : ''}folds: ${figures}`;
}

/** "6 trials: 2 completed, 3 stopped early, 1 failed · best 04 (learningRate=0.0042, hidden=[64,32]): auc 0.7466". */
export function searchLine(search: SearchSummary): string {
  const count = (status: string): number => search.trials.filter((t) => t.status === status).length;
  const parts = [`${count('completed')} completed`, `${count('stopped')} stopped early`, ...(count('failed') ? [`${count('failed')} failed`] : [])];
  const params = Object.entries(search.best.params)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(3)) : JSON.stringify(v)}`)
    .join(', ');
  return `${search.trials.length} trials: ${parts.join(', ')} · best ${search.best.trial} (${params}): ${search.metric.name} ${fmt(search.best.metric)}`;
}
