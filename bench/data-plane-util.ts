/** Small helpers shared by the data-plane benchmark's steps. */

/** Runs `fn` over `items` with at most `concurrency` at a time; results in the order of `items`. */
export async function inParallel<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** What a measured step costs this process: wall seconds and CPU seconds of all its threads. */
export interface Measured<T> {
  value: T;
  seconds: number;
  cpuSeconds: number;
}

export async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  const value = await fn();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const used = process.cpuUsage(cpu);
  return { value, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Peak resident set of this process so far, worker threads included, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
