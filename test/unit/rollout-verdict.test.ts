import { DEFAULT_ROLLOUT_POLICY, type RoleStats, type RolloutStats } from '../../contracts';
import { judgeRollout } from '../../workflows/release/rollout-verdict';

const side = (requests: number, errors: number, p99Ms: number | null = 2): RoleStats => ({ requests, errors, p50Ms: p99Ms === null ? null : 1, p99Ms });
const stats = (production: RoleStats, challenger: RoleStats, compared = { rows: 0, meanDifference: null as number | null }): RolloutStats => ({
  active: true,
  version: 4,
  mode: 'canary',
  production,
  challenger,
  compared,
});
const policy = { ...DEFAULT_ROLLOUT_POLICY, minRequests: 100, maxErrorRateIncrease: 0.01, maxLatencyRatio: 2, windowSeconds: 60 };

describe('judgeRollout', () => {
  test('waits while the window runs and nothing is wrong', () => {
    expect(judgeRollout(stats(side(1000, 0), side(50, 0)), policy, false)).toEqual({ decision: 'wait', reason: '50 of at least 100 canary requests so far' });
  });

  test('rolls back a clearly broken challenger at once, before minRequests', () => {
    expect(judgeRollout(stats(side(100, 0), side(12, 11)), policy, false).decision).toBe('rollback');
    // Nine errors are not yet "clearly" broken on so few requests.
    expect(judgeRollout(stats(side(100, 0), side(12, 9)), policy, false).decision).toBe('wait');
  });

  test('rolls back on an error rate above production plus the allowance, once there are enough requests', () => {
    const verdict = judgeRollout(stats(side(1000, 10), side(200, 5)), policy, false);
    expect(verdict).toEqual({
      decision: 'rollback',
      reason: 'canary error rate 2.5% vs production 1.0% over 200 requests: 1.5% more than production, 1.0% allowed',
    });
    expect(judgeRollout(stats(side(1000, 10), side(200, 3)), policy, true).decision).toBe('promote');
  });

  test('rolls back on p99 latency beyond the ratio, comparing sub-millisecond figures as 1 ms', () => {
    expect(judgeRollout(stats(side(1000, 0, 4), side(200, 0, 9)), policy, false)).toEqual({
      decision: 'rollback',
      reason: "canary p99 latency 9.0 ms is 2.3× production's 4.0 ms; at most 2× allowed",
    });
    expect(judgeRollout(stats(side(1000, 0, 0.2), side(200, 0, 1.5)), policy, true).decision).toBe('promote');
  });

  test('shadow: rolls back when predictions differ too much on enough rows', () => {
    const shadow = { ...stats(side(500, 0), side(500, 0), { rows: 500, meanDifference: 0.3 }), mode: 'shadow' as const };
    expect(judgeRollout(shadow, { ...policy, maxPredictionDifference: 0.1 }, false).decision).toBe('rollback');
    const close = { ...shadow, compared: { rows: 500, meanDifference: 0.02 } };
    expect(judgeRollout(close, { ...policy, maxPredictionDifference: 0.1 }, true).reason).toMatch(/mean prediction difference 0.020$/);
  });

  test('too little traffic by the end of the window does what the policy says', () => {
    const few = stats(side(1000, 0), side(30, 0));
    expect(judgeRollout(few, policy, true)).toEqual({
      decision: 'rollback',
      reason: 'only 30 canary requests in the 60 s window, fewer than the 100 a verdict needs (onTooLittleTraffic: rollback)',
    });
    expect(judgeRollout(few, { ...policy, onTooLittleTraffic: 'promote' }, true).decision).toBe('promote');
  });
});
