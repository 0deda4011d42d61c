import type { RoleStats, RolloutPolicy, RolloutStats, RolloutVerdict } from '../../contracts';

/** A challenger this broken is rolled back at once, without waiting for minRequests: most of its answers fail. */
const CLEARLY_BROKEN = { errors: 10, rate: 0.5 };
/** p99 latencies below this are compared as this: sub-millisecond noise must not decide a release. */
const LATENCY_FLOOR_MS = 1;

const rate = (s: RoleStats): number => (s.requests ? s.errors / s.requests : 0);
const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;
const ms = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(1)} ms`);

/**
 * Decides a rollout from the model server's figures: roll back as soon as the challenger is worse
 * than the policy allows (error rate, p99 latency, shadow prediction difference) on enough
 * requests, or at once when it is clearly broken; promote when the window is over and it held;
 * with too little traffic by then, do what the policy says. The reason quotes the figures.
 */
export function judgeRollout(stats: RolloutStats, policy: RolloutPolicy, windowOver: boolean): RolloutVerdict {
  const c = stats.challenger;
  const p = stats.production;
  const side = stats.mode === 'shadow' ? 'shadow' : 'canary';
  if (c.errors >= CLEARLY_BROKEN.errors && rate(c) >= CLEARLY_BROKEN.rate) {
    return { decision: 'rollback', reason: `the ${side} failed ${c.errors} of ${c.requests} requests (${pct(rate(c))}; production ${pct(rate(p))})` };
  }
  const enough = c.requests >= policy.minRequests;
  if (enough) {
    const excess = rate(c) - rate(p);
    if (excess > policy.maxErrorRateIncrease) {
      return {
        decision: 'rollback',
        reason: `${side} error rate ${pct(rate(c))} vs production ${pct(rate(p))} over ${c.requests} requests: ${pct(excess)} more than production, ${pct(policy.maxErrorRateIncrease)} allowed`,
      };
    }
    if (c.p99Ms !== null && p.p99Ms !== null) {
      const ratio = Math.max(c.p99Ms, LATENCY_FLOOR_MS) / Math.max(p.p99Ms, LATENCY_FLOOR_MS);
      if (ratio > policy.maxLatencyRatio) {
        return {
          decision: 'rollback',
          reason: `${side} p99 latency ${ms(c.p99Ms)} is ${ratio.toFixed(1)}× production's ${ms(p.p99Ms)}; at most ${policy.maxLatencyRatio}× allowed`,
        };
      }
    }
    const { rows, meanDifference } = stats.compared;
    if (stats.mode === 'shadow' && meanDifference !== null && rows >= policy.minRequests && meanDifference > policy.maxPredictionDifference) {
      return {
        decision: 'rollback',
        reason: `the shadow's predictions differ from production's by ${meanDifference.toFixed(3)} on average over ${rows} rows; at most ${policy.maxPredictionDifference} allowed`,
      };
    }
  }
  if (!windowOver) return { decision: 'wait', reason: `${c.requests} of at least ${policy.minRequests} ${side} requests so far` };
  if (!enough) {
    return {
      decision: policy.onTooLittleTraffic,
      reason: `only ${c.requests} ${side} requests in the ${policy.windowSeconds} s window, fewer than the ${policy.minRequests} a verdict needs (onTooLittleTraffic: ${policy.onTooLittleTraffic})`,
    };
  }
  const difference =
    stats.mode === 'shadow' && stats.compared.meanDifference !== null ? `, mean prediction difference ${stats.compared.meanDifference.toFixed(3)}` : '';
  return {
    decision: 'promote',
    reason: `${side} held for ${policy.windowSeconds} s: error rate ${pct(rate(c))} vs production ${pct(rate(p))}, p99 ${ms(c.p99Ms)} vs ${ms(p.p99Ms)} over ${c.requests} requests${difference}`,
  };
}
