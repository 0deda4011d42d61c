/**
 * Tells a listener about dropped rows without flooding it: when the database is down, every
 * prediction drops rows, and a callback per prediction (typically a log line) would cost more than
 * the prediction. Per reason, the first drop is told at once; later ones within `intervalMs` are
 * added up and told together when the interval has passed.
 */
export class DropReporter {
  private readonly pending = new Map<string, number>();
  private readonly lastTold = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly listener: ((rows: number, reason: string) => void) | undefined,
    private readonly intervalMs: number,
  ) {}

  /** Called on the prediction's path: O(1), never throws. */
  dropped(rows: number, reason: string): void {
    if (!this.listener || rows <= 0) return;
    this.pending.set(reason, (this.pending.get(reason) ?? 0) + rows);
    const last = this.lastTold.get(reason);
    if (last === undefined || Date.now() - last >= this.intervalMs) this.tell(reason);
    else this.timer ??= unrefTimeout(() => this.tellDue(), Math.max(0, last + this.intervalMs - Date.now()));
  }

  /** Tells everything still pending, due or not (close). */
  tellAll(): void {
    this.stopTimer();
    for (const reason of [...this.pending.keys()]) this.tell(reason);
  }

  private tellDue(): void {
    this.timer = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const reason of [...this.pending.keys()]) {
      const due = (this.lastTold.get(reason) ?? 0) + this.intervalMs;
      if (due <= now) this.tell(reason);
      else next = Math.min(next, due);
    }
    if (next !== Infinity) this.timer = unrefTimeout(() => this.tellDue(), next - now);
  }

  private tell(reason: string): void {
    const rows = this.pending.get(reason) ?? 0;
    this.pending.delete(reason);
    this.lastTold.set(reason, Date.now());
    if (rows === 0) return;
    try {
      this.listener?.(rows, reason);
    } catch {
      // A failing listener must not fail a prediction or a flush; the rows are still in stats().dropped.
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A timer that never keeps the process alive. */
export function unrefTimeout(callback: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return timer;
}
