/**
 * At most `size` bodies running at once; the rest wait in call order. Plain promises, so it is
 * deterministic in workflow code: cross-validation runs k folds of one activity per shard each, and
 * Temporal refuses more than 2,000 pending activities per workflow (DESIGN.md keeps fan-out to ~500).
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(body: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await body();
    } finally {
      // Hand the slot straight to the next in line, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
