import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePipelineSpec, SpecError } from '../../lib/spec/pipeline-spec';

const base = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'flights-spec.json'), 'utf8')) as Record<string, unknown>;
const withEvaluation = (evaluation: unknown, extra: Record<string, unknown> = {}): unknown => ({ ...base, ...extra, evaluation });

function problems(spec: unknown): string[] {
  try {
    parsePipelineSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  return [];
}

describe('the evaluation section of a spec', () => {
  it('is optional, and fills its defaults', () => {
    expect(parsePipelineSpec(base).evaluation).toBeUndefined();
    const spec = parsePipelineSpec(withEvaluation({ slices: [{ feature: 'origin' }], importance: {}, crossValidation: { folds: 3 } }));
    expect(spec.evaluation).toEqual({
      slices: [{ feature: 'origin', top: 10 }],
      importance: { repeats: 3, maxRows: 100000, seed: 1 },
      crossValidation: { folds: 3 },
    });
  });

  it('takes value and change thresholds on the metrics of the label task', () => {
    const spec = parsePipelineSpec(
      withEvaluation({
        blessing: {
          thresholds: [
            { metric: 'auc', min: 0.6 },
            { metric: 'logLoss', vsProduction: { tolerance: 0.02, relative: true } },
          ],
        },
      }),
    );
    expect(spec.evaluation?.blessing?.thresholds[1]).toEqual({ metric: 'logLoss', vsProduction: { tolerance: 0.02, relative: true } });
  });

  it('names a metric the task does not compute, and lists the ones it does', () => {
    expect(problems(withEvaluation({ blessing: { thresholds: [{ metric: 'rmse', max: 10 }] } }))).toEqual([
      'evaluation.blessing.thresholds[0].metric: a binary model has no metric "rmse"; its metrics are auc, prAuc, logLoss, brier, accuracy, precision, recall, f1',
    ]);
    const regression = { label: { column: 'delay', task: 'regression' } };
    expect(problems(withEvaluation({ blessing: { thresholds: [{ metric: 'auc', min: 0.6 }] } }, regression))[0]).toContain(
      'a regression model has no metric "auc"; its metrics are rmse, mae, r2',
    );
  });

  it('refuses a threshold without a bound, and min above max', () => {
    expect(problems(withEvaluation({ blessing: { thresholds: [{ metric: 'auc' }] } }))[0]).toContain('a threshold needs min, max or vsProduction');
    expect(problems(withEvaluation({ blessing: { thresholds: [{ metric: 'auc', min: 0.9, max: 0.8 }] } }))[0]).toContain('min must not be greater than max');
  });

  it('slices only by a feature of the spec whose values are categories', () => {
    expect(problems(withEvaluation({ slices: [{ feature: 'carrier' }] }))[0]).toContain(
      'no feature named "carrier" to slice by (features: distance, origin, destination, hour, day_of_week)',
    );
    expect(problems(withEvaluation({ slices: [{ feature: 'distance' }] }))[0]).toContain('feature "distance" is numeric, whose values are not categories');
    expect(problems(withEvaluation({ slices: [{ feature: 'hour', top: 24 }] }))).toEqual([]);
  });

  it('refuses cross-validation of a time split, stratified folds of a regression label, and folds out of range', () => {
    const timeSplit = { split: { testFraction: 0.2, seed: 42, timeColumn: 'date' } };
    expect(problems(withEvaluation({ crossValidation: { folds: 3 } }, timeSplit))[0]).toContain('forward-chaining');
    const regression = { label: { column: 'delay', task: 'regression' } };
    expect(problems(withEvaluation({ crossValidation: { folds: 3, stratify: true } }, regression))[0]).toContain('a regression label has no classes');
    expect(problems(withEvaluation({ crossValidation: { folds: 1 } }))[0]).toContain('crossValidation.folds must be at least 2');
  });
});
