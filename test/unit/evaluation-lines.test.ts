import type { CrossValidationResult, SearchSummary } from '../../contracts';
import { crossValidationLine, searchLine } from '../../scripts/client/evaluation-lines';

describe('the CLI lines of cross-validation and search', () => {
  it('shows the headline metric over the folds with its spread and each fold', () => {
    const cv: CrossValidationResult = {
      folds: 3,
      stratified: true,
      metrics: { auc: { mean: 0.74, std: 0.002, values: [0.738, 0.74, 0.742] }, rmse: { mean: 1, std: 0, values: [1, 1, 1] } },
      perFold: [],
    };
    expect(crossValidationLine(cv, 'binary')).toBe('3 stratified folds: auc 0.7400 ± 0.0020 (0.7380, 0.7400, 0.7420)');
    expect(crossValidationLine({ ...cv, stratified: false }, 'regression')).toBe('3 folds: rmse 1.0000 ± 0.0000 (1.0000, 1.0000, 1.0000)');
    expect(crossValidationLine(cv, 'multiclass')).toBe("3 stratified folds: no accuracy in the folds' metrics");
  });

  it('counts trials by how they ended and names the best with its parameters', () => {
    const trial = (n: string, status: 'completed' | 'stopped' | 'failed', metric: number | null) => ({
      trial: n,
      workflowId: `r-search-trial-${n}`,
      params: {},
      status,
      epochs: 1,
      metric,
      metricByEpoch: [],
    });
    const search: SearchSummary = {
      metric: { name: 'auc', higherIsBetter: true },
      best: { trial: '02', params: { learningRate: 0.0041666, hidden: [64, 32] }, metric: 0.7466 },
      trials: [trial('01', 'stopped', 0.7), trial('02', 'completed', 0.7466), trial('03', 'failed', null)],
    };
    expect(searchLine(search)).toBe('3 trials: 1 completed, 1 stopped early, 1 failed · best 02 (learningRate=0.00417, hidden=[64,32]): auc 0.7466');
  });
});
