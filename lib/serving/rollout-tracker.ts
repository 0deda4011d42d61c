import type { RoleStats, RolloutMode, RolloutStats } from '../../contracts/rollout';

/** Latencies kept per side: the latest ones, enough for a stable p99 over a rollout's window. */
const LATENCY_SAMPLES = 8192;

class SideCounter {
  requests = 0;
  errors = 0;
  private readonly latencies = new Float64Array(LATENCY_SAMPLES);
  private kept = 0;

  observe(ms: number, ok: boolean): void {
    this.requests++;
    if (!ok) this.errors++;
    this.latencies[this.kept++ % LATENCY_SAMPLES] = ms;
  }

  stats(): RoleStats {
    const n = Math.min(this.kept, LATENCY_SAMPLES);
    if (n === 0) return { requests: this.requests, errors: this.errors, p50Ms: null, p99Ms: null };
    const sorted = this.latencies.slice(0, n).sort();
    const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))]!;
    return { requests: this.requests, errors: this.errors, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}

/**
 * What the model server has seen of a rollout since it started: per side (production, the
 * challenger) the requests, the errors that are the version's fault (a failed forward pass, a
 * non-finite output) and latencies; in shadow mode, how far the challenger's predictions are from
 * production's on the same rows. The rollout workflow reads it to decide.
 */
export class RolloutTracker {
  private readonly production = new SideCounter();
  private readonly challenger = new SideCounter();
  private comparedRows = 0;
  private differenceSum = 0;

  constructor(
    readonly version: number,
    readonly mode: RolloutMode,
    readonly share: number,
  ) {}

  observe(side: 'production' | 'challenger', ms: number, ok: boolean): void {
    (side === 'production' ? this.production : this.challenger).observe(ms, ok);
  }

  /** Shadow: `rows` rows scored by both, with the sum of their differences. */
  compared(rows: number, differenceSum: number): void {
    this.comparedRows += rows;
    this.differenceSum += differenceSum;
  }

  stats(): RolloutStats {
    return {
      active: true,
      version: this.version,
      mode: this.mode,
      production: this.production.stats(),
      challenger: this.challenger.stats(),
      compared: { rows: this.comparedRows, meanDifference: this.comparedRows ? this.differenceSum / this.comparedRows : null },
    };
  }
}

export const NO_ROLLOUT: RolloutStats = {
  active: false,
  version: null,
  mode: null,
  production: { requests: 0, errors: 0, p50Ms: null, p99Ms: null },
  challenger: { requests: 0, errors: 0, p50Ms: null, p99Ms: null },
  compared: { rows: 0, meanDifference: null },
};

/** Sum over rows of |a − b| (numbers), or of 1 where the classes differ (multiclass). */
export function predictionDifference(a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number') sum += Math.abs(x - y);
    else sum += (x as { class?: string }).class === (y as { class?: string }).class ? 0 : 1;
  }
  return sum;
}
