/**
 * Asynchronous successive halving (ASHA, Li et al. 2020), as Ray Tune's AsyncHyperBandScheduler
 * decides it: pure, so the search workflow replays it from its history and tests drive it directly.
 *
 * Rungs sit at gracePeriod · η^k epochs (below the maximum resource). When a trial reaches a rung,
 * its metric is compared with the metrics recorded at that rung so far: below the (1 − 1/η)
 * quantile of them (in the metric's direction) it stops, else it goes on; either way its metric is
 * recorded there. Nothing waits for a rung to fill, so trials never idle; the first trials to reach
 * a rung are promoted more easily than later ones, which is the price of not waiting.
 */

export type AshaDecision = 'continue' | 'stop';

export interface AshaOptions {
  /** Epochs before a trial's first comparison (the first rung). */
  gracePeriod: number;
  /** η: the top 1/η of a rung go on. */
  reductionFactor: number;
  /** Epochs of a trial that is never stopped: rungs lie below it. */
  maxResource: number;
  higherIsBetter: boolean;
}

/** The rungs' epochs: gracePeriod · η^k while below maxResource, ascending. */
export function ashaRungs({ gracePeriod, reductionFactor, maxResource }: Omit<AshaOptions, 'higherIsBetter'>): number[] {
  if (!(gracePeriod > 0) || !(reductionFactor > 1))
    throw new RangeError(`ASHA needs gracePeriod > 0 and reductionFactor > 1, got ${gracePeriod} and ${reductionFactor}`);
  const rungs: number[] = [];
  for (let r = gracePeriod; r < maxResource; r *= reductionFactor) rungs.push(r);
  return rungs;
}

/** The p-quantile (0..1) of values, interpolated linearly between the nearest ranks (numpy's default, as Ray uses). */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('the quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

export class AshaScheduler {
  /** Each rung's epochs and the scores recorded there by trial (higher is better: a lower-is-better metric is negated). */
  private readonly rungs: Array<{ epochs: number; recorded: Map<string, number> }>;

  constructor(private readonly options: AshaOptions) {
    this.rungs = ashaRungs(options).map((epochs) => ({ epochs, recorded: new Map() }));
  }

  /**
   * A trial finished `epochs` epochs with `metric`: whether it goes on. As Ray, the highest rung at
   * or below `epochs` that has no record of the trial decides, so a report repeated or out of
   * order changes nothing. A trial whose metric is not finite (a diverged run) stops.
   */
  onResult(trialId: string, epochs: number, metric: number): AshaDecision {
    if (!Number.isFinite(metric)) return 'stop';
    for (let k = this.rungs.length - 1; k >= 0; k--) {
      const rung = this.rungs[k]!;
      if (epochs < rung.epochs || rung.recorded.has(trialId)) continue;
      const score = this.options.higherIsBetter ? metric : -metric;
      const cutoff = rung.recorded.size > 0 ? quantile([...rung.recorded.values()], 1 - 1 / this.options.reductionFactor) : undefined;
      rung.recorded.set(trialId, score);
      return cutoff !== undefined && score < cutoff ? 'stop' : 'continue';
    }
    return 'continue';
  }

  /** Each rung's epochs and the metrics recorded there, by trial (in the metric's own sign). */
  recorded(): Array<{ epochs: number; metrics: Map<string, number> }> {
    const sign = this.options.higherIsBetter ? 1 : -1;
    return this.rungs.map(({ epochs, recorded }) => ({ epochs, metrics: new Map([...recorded].map(([t, s]) => [t, sign * s])) }));
  }
}
