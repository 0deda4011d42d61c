import type { BinaryMetrics, RegressionMetrics } from '../../contracts';
import { judgeBlessing } from '../../workflows/support/blessing';

const binary = (auc: number, logLoss = 0.5): BinaryMetrics => ({ task: 'binary', auc, logLoss, accuracy: 0.8, positiveRate: 0.2, rows: 1000 });
const regression = (rmse: number): RegressionMetrics => ({ task: 'regression', rmse, mae: rmse / 2, r2: 0.5, rows: 1000 });

describe('judgeBlessing', () => {
  it('blesses a first model that passes its value threshold, with no baseline', () => {
    const b = judgeBlessing('binary', [{ metric: 'auc', min: 0.6, vsProduction: { tolerance: 0.01, relative: false } }], binary(0.7), undefined);
    expect(b.blessed).toBe(true);
    expect(b.baseline).toBeUndefined();
    expect(b.checks.map((c) => [c.kind, c.passed])).toEqual([
      ['value', true],
      ['change', true],
    ]);
    expect(b.checks[1]!.message).toContain('no production version');
  });

  it('refuses a model below its value threshold and says which', () => {
    const b = judgeBlessing('binary', [{ metric: 'auc', min: 0.6 }], binary(0.55), undefined);
    expect(b.blessed).toBe(false);
    expect(b.reason).toBe('not blessed: auc 0.55 is not ≥ 0.6');
  });

  it('compares with production: absolute tolerance, higher is better', () => {
    const threshold = [{ metric: 'auc', vsProduction: { tolerance: 0.005, relative: false } }];
    const base = { version: 3, metrics: binary(0.75) };
    expect(judgeBlessing('binary', threshold, binary(0.746), base).blessed).toBe(true); // trails by 0.004
    const worse = judgeBlessing('binary', threshold, binary(0.744), base); // trails by 0.006
    expect(worse.blessed).toBe(false);
    expect(worse.baseline).toEqual(base);
    expect(worse.checks[0]).toMatchObject({ value: 0.744, baseline: 0.75, passed: false });
    expect(worse.reason).toContain('production v3');
  });

  it('a negative tolerance demands an improvement', () => {
    const threshold = [{ metric: 'auc', vsProduction: { tolerance: -0.01, relative: false } }];
    const base = { version: 1, metrics: binary(0.7) };
    expect(judgeBlessing('binary', threshold, binary(0.705), base).blessed).toBe(false);
    expect(judgeBlessing('binary', threshold, binary(0.711), base).blessed).toBe(true);
  });

  it('lower is better for log loss and RMSE; relative tolerance scales with production', () => {
    const base = { version: 2, metrics: regression(10) };
    const threshold = [{ metric: 'rmse', vsProduction: { tolerance: 0.05, relative: true } }];
    expect(judgeBlessing('regression', threshold, regression(10.4), base).blessed).toBe(true); // 4% worse
    expect(judgeBlessing('regression', threshold, regression(10.6), base).blessed).toBe(false); // 6% worse
    expect(judgeBlessing('regression', threshold, regression(8), base).blessed).toBe(true);
    const logLoss = [{ metric: 'logLoss', max: 0.6 }];
    expect(judgeBlessing('binary', logLoss, binary(0.7, 0.59), undefined).blessed).toBe(true);
    expect(judgeBlessing('binary', logLoss, binary(0.7, 0.61), undefined).blessed).toBe(false);
  });

  it('fails a change threshold when production could not be measured on these rows', () => {
    const b = judgeBlessing('binary', [{ metric: 'auc', vsProduction: { tolerance: 0, relative: false } }], binary(0.9), {
      version: 4,
      incomparable: 'it reads column "carrier", which this dataset lacks',
    });
    expect(b.blessed).toBe(false);
    expect(b.reason).toContain('carrier');
  });

  it('an undefined figure (NaN, or absent from an older record) fails its threshold', () => {
    expect(judgeBlessing('binary', [{ metric: 'auc', min: 0.5 }], binary(Number.NaN), undefined).blessed).toBe(false);
    expect(judgeBlessing('binary', [{ metric: 'prAuc', min: 0.1 }], binary(0.8), undefined).blessed).toBe(false);
  });

  it('without thresholds every model is blessed', () => {
    expect(judgeBlessing('binary', [], binary(0.5), undefined)).toEqual({ blessed: true, checks: [], reason: 'blessed: no thresholds set' });
  });
});
