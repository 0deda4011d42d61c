import autocannon from 'autocannon';
import { processCpuSeconds } from './evaluation-cpu';

/**
 * One load of bench/serving.ts: autocannon in this process (loopback only) against a server
 * process, a warm-up first and then the measured window. Latency is recorded here from autocannon's
 * per-response times (float milliseconds): autocannon's own histogram keeps whole milliseconds,
 * too coarse for a target of a few. Also the CPU seconds the server and this process (the load
 * generator) used in the window: on 2 cores, their sum against twice the wall time says whether the
 * machine, rather than the server, was the limit.
 */

export interface LoadOptions {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The request path, e.g. /v1/models/flights:predict. */
  path: string;
  /** Request bodies (JSON text), sent in turn by every connection. */
  bodies: readonly string[];
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Requests per second from all connections together (autocannon's `overallRate`); none: as fast as answered. */
  overallRate?: number;
  /** The server's pid, for its CPU seconds. */
  serverPid?: number;
  /** CPU seconds so far of a process the server relies on (PostgreSQL, for the prediction log). */
  databaseCpuSeconds?: () => number;
  /** Called for every response of the measured window with its body, before `onLatency` is called for it. */
  onBody?: (status: number, body: string) => void;
  /** Called for every response of the measured window: its status, latency (ms) and when it completed (performance.now()). */
  onLatency?: (status: number, latencyMs: number, at: number) => void;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  connections: number;
  overallRate: number | null;
  seconds: number;
  /** Responses in the measured window (any status). */
  responses: number;
  requestsPerSec: number;
  /** Latency of the 2xx responses, in milliseconds. */
  latencyMs: LatencySummary;
  /** autocannon's own p99 (whole ms; with `overallRate`, corrected for coordinated omission). */
  autocannonP99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU seconds per second of wall time (1 = one core busy) of the server and of this process. */
  serverCpu: number;
  loadGeneratorCpu: number;
  /** The same for PostgreSQL, when asked (NaN otherwise). */
  databaseCpu: number;
}

/** Float latencies, grown as needed. */
class Latencies {
  private values = new Float64Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, this.length));
  }
}

/** Percentiles (nearest rank) of latencies in ms; NaN when there are none. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const at = (q: number): number => (n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: n ? sorted[n - 1]! : Number.NaN, mean: n ? sum / n : Number.NaN };
}

function cannon(
  options: LoadOptions,
  seconds: number,
  record: boolean,
): Promise<{ result: autocannon.Result; latencies: Latencies; responses: number; non2xx: number }> {
  const latencies = new Latencies();
  let responses = 0;
  let non2xx = 0;
  const { onBody, onLatency } = options;
  const requests = options.bodies.map((body) => ({
    method: 'POST' as const,
    path: options.path,
    headers: { 'content-type': 'application/json' },
    body,
    ...(record && onBody ? { onResponse: (status: number, text: string) => onBody(status, text) } : {}),
  }));
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: seconds,
        requests,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
      },
      (err: unknown, result: autocannon.Result) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve({ result, latencies, responses, non2xx }),
    );
    if (!record) return;
    instance.on('response', (_client, statusCode: number, _bytes: number, responseTime: number) => {
      responses++;
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else non2xx++;
      onLatency?.(statusCode, responseTime, performance.now());
    });
  });
}

/** A warm-up of `warmupSeconds` (not recorded), then `seconds` measured. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await cannon(options, options.warmupSeconds, false);
  const serverCpuBefore = options.serverPid ? processCpuSeconds(options.serverPid) : Number.NaN;
  const databaseCpuBefore = options.databaseCpuSeconds?.() ?? Number.NaN;
  const ownCpuBefore = process.cpuUsage();
  const started = performance.now();
  const { result, latencies, responses, non2xx } = await cannon(options, options.seconds, true);
  const wall = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownCpuBefore);
  const serverCpu = options.serverPid ? (processCpuSeconds(options.serverPid) - serverCpuBefore) / wall : Number.NaN;
  return {
    connections: options.connections,
    overallRate: options.overallRate ?? null,
    seconds: result.duration,
    responses,
    requestsPerSec: responses / result.duration,
    latencyMs: latencies.summary(),
    autocannonP99Ms: result.latency.p99,
    non2xx: Math.max(non2xx, result.non2xx),
    errors: result.errors,
    timeouts: result.timeouts,
    serverCpu,
    loadGeneratorCpu: (own.user + own.system) / 1e6 / wall,
    databaseCpu: ((options.databaseCpuSeconds?.() ?? Number.NaN) - databaseCpuBefore) / wall,
  };
}
