import type { LoadResult } from './serving-load';
import type { PacedResult } from './serving-paced';
import type { SwapResult } from './serving-swap';

/** The tables and the headline of bench/serving.ts. */

export interface ServingRun {
  /** baseline, batched, unbatched, logged */
  server: string;
  route: 'v1' | 'v2';
  /** 'closed' loop (as fast as answered) or 'half' (overallRate = half the server's c=64 requests/s). */
  mode: 'closed' | 'half';
  load: LoadResult;
  /** Rows per forward pass in the run (warm-up included), from the server's /metrics; null for the baseline. */
  rowsPerPass: number | null;
  requestsPerPass: number | null;
  /** Prediction log rows dropped during the run (logged server). */
  logDropped?: number;
  loadAverage: number;
  /** Which round of the closed-loop loads it ran in (bench/serving.ts). */
  round: number;
  /** requests/s of every try of this server, route and concurrency (the reported one is the median). */
  tries?: number[];
  /** Per round, requests/s over bare Fastify's in the same round, and their median. */
  ratios?: number[];
  ratio?: number;
}

/** A steady open-loop load at half a server's c=64 requests/s (bench/serving-paced.ts). */
export interface PacedRun {
  server: string;
  result: PacedResult;
  rowsPerPass: number | null;
  loadAverage: number;
}

export const SERVER_LABELS: Record<string, string> = {
  baseline: 'bare Fastify (constant answer)',
  batched: 'model server, batching on, log off',
  unbatched: 'model server, batching off (BATCH_ROWS=1), log off',
  logged: 'model server, batching on, log on (defaults)',
};

export const fmt = (n: number | null | undefined, digits = 0): string =>
  n !== null && n !== undefined && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

/** The baseline's run at the same route and concurrency, as fast as answered. */
export function baselineOf(runs: readonly ServingRun[], run: ServingRun): ServingRun | undefined {
  return runs.find((r) => r.server === 'baseline' && r.mode === 'closed' && r.route === run.route && r.load.connections === run.load.connections);
}

/** The median over rounds of the run's requests/s over bare Fastify's in the same round (else over the baseline's reported try). */
export function ratioToBaseline(runs: readonly ServingRun[], run: ServingRun): number | null {
  if (run.mode !== 'closed') return null;
  if (run.ratio !== undefined) return run.ratio;
  const base = baselineOf(runs, run);
  return base ? run.load.requestsPerSec / base.load.requestsPerSec : null;
}

export function loadTable(runs: readonly ServingRun[]): string {
  return [
    '| server | route | connections | req/s, median (every round) | × bare Fastify, median of rounds | p50 ms | p90 ms | p99 ms | non-2xx / errors | rows per forward pass | server CPU | autocannon CPU | PostgreSQL CPU | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs
      .filter((r) => r.mode === 'closed')
      .map((r) => {
        const ratio = ratioToBaseline(runs, r);
        const others = r.tries && r.tries.length > 1 ? ` (${r.tries.map((t) => fmt(t)).join(', ')})` : '';
        return (
          `| ${SERVER_LABELS[r.server] ?? r.server} | ${r.route} | ${r.load.connections} | ${fmt(r.load.requestsPerSec)}${others} | ${ratio === null ? '' : `${fmt(ratio, 2)}×`} | ` +
          `${fmt(r.load.latencyMs.p50, 2)} | ${fmt(r.load.latencyMs.p90, 2)} | ${fmt(r.load.latencyMs.p99, 2)} | ${r.load.non2xx} / ${r.load.errors} | ` +
          `${r.rowsPerPass === null ? '' : fmt(r.rowsPerPass, 1)} | ${fmt(r.load.serverCpu, 2)} | ${fmt(r.load.loadGeneratorCpu, 2)} | ${r.server === 'logged' ? fmt(r.load.databaseCpu, 2) : ''} | ${fmt(r.loadAverage, 1)} |`
        );
      }),
  ].join('\n');
}

/** Half load: autocannon's overallRate (bursts at the start of each second) and the steady paced load. */
export function halfLoadTable(runs: readonly ServingRun[], paced: readonly PacedRun[]): string {
  return [
    '| server | load | requests/s asked | got | p50 ms | p90 ms | p99 ms | p99 ms from when due | non-2xx / errors | rows per forward pass | server CPU | generator CPU | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs
      .filter((r) => r.mode === 'half')
      .map(
        (r) =>
          `| ${SERVER_LABELS[r.server] ?? r.server} | autocannon \`overallRate\`, ${r.load.connections} connections | ${fmt(r.load.overallRate)} | ${fmt(r.load.requestsPerSec)} | ` +
          `${fmt(r.load.latencyMs.p50, 2)} | ${fmt(r.load.latencyMs.p90, 2)} | ${fmt(r.load.latencyMs.p99, 2)} |  | ` +
          `${r.load.non2xx} / ${r.load.errors} | ${r.rowsPerPass === null ? '' : fmt(r.rowsPerPass, 1)} | ${fmt(r.load.serverCpu, 2)} | ${fmt(r.load.loadGeneratorCpu, 2)} | ${fmt(r.loadAverage, 1)} |`,
      ),
    ...paced.map(
      (p) =>
        `| ${SERVER_LABELS[p.server] ?? p.server} | steady (bench/serving-paced.ts), ${p.result.connections} connections | ${fmt(p.result.rate)} | ${fmt(p.result.requestsPerSec)} | ` +
        `${fmt(p.result.serviceMs.p50, 2)} | ${fmt(p.result.serviceMs.p90, 2)} | ${fmt(p.result.serviceMs.p99, 2)} | ${fmt(p.result.latencyMs.p99, 2)} | ` +
        `${p.result.non2xx} / ${p.result.errors} | ${p.rowsPerPass === null ? '' : fmt(p.rowsPerPass, 1)} | ${fmt(p.result.serverCpu, 2)} | ${fmt(p.result.loadGeneratorCpu, 2)} | ${fmt(p.loadAverage, 1)} |`,
    ),
  ].join('\n');
}

export function swapTable(s: SwapResult): string {
  const row = (name: string, n: number, l: SwapResult['latencyMs']['before']): string =>
    `| ${name} | ${fmt(n)} | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} | ${fmt(l.max, 1)} |`;
  return [
    `Hot swap v${s.fromVersion} → v${s.toVersion} at ${fmt(s.swapAtSeconds, 1)} s of ${fmt(s.load.seconds, 1)} s at ${s.load.connections} connections: ` +
      `promote ${fmt(s.promoteMs, 1)} ms, reload ${fmt(s.reloadMs, 1)} ms; ${s.non2xx} non-2xx, ${s.errors} errors; ` +
      `responses by version ${Object.entries(s.byVersion)
        .map(([v, n]) => `v${v}: ${fmt(n)}`)
        .join(', ')}; ` +
      `old version after the reload answered: ${s.oldAfterReload}${s.lastOldAfterReloadMs === null ? '' : ` (the last ${fmt(s.lastOldAfterReloadMs, 1)} ms after)`}; ` +
      `new version before the swap: ${s.newBeforeSwap}; a request afterwards: v${s.finalVersion ?? '?'}`,
    '',
    '| window | responses | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|',
    row('before the swap', s.responses.before, s.latencyMs.before),
    row('during (promote, reload, 1 s after)', s.responses.during, s.latencyMs.during),
    row('after', s.responses.after, s.latencyMs.after),
  ].join('\n');
}

export function headlineOf(runs: readonly ServingRun[], paced: readonly PacedRun[], swap: SwapResult | undefined, cores: number): string {
  const find = (server: string, c: number, route: 'v1' | 'v2' = 'v1', mode: 'closed' | 'half' = 'closed') =>
    runs.find((r) => r.server === server && r.load.connections === c && r.route === route && r.mode === mode);
  const parts: string[] = [];
  for (const c of [64, 1]) {
    const b = find('batched', c);
    const base = find('baseline', c);
    if (b && base) {
      parts.push(
        `c=${c}: ${fmt(b.load.requestsPerSec)} req/s = ${fmt(ratioToBaseline(runs, b), 2)}× bare Fastify (${fmt(base.load.requestsPerSec)}), p99 ${fmt(b.load.latencyMs.p99, 1)} ms`,
      );
    }
  }
  const unb = find('unbatched', 64);
  const b64 = find('batched', 64);
  if (unb && b64) parts.push(`batching off at c=64 ${fmt(unb.load.requestsPerSec)} req/s`);
  const logged = find('logged', 64);
  const base64 = find('baseline', 64);
  if (logged && base64) parts.push(`with the prediction log (defaults) ${fmt(logged.load.requestsPerSec)} req/s = ${fmt(ratioToBaseline(runs, logged), 2)}×`);
  const half = runs.find((r) => r.server === 'batched' && r.mode === 'half');
  const steady = paced.find((p) => p.server === 'batched');
  const steadyBase = steady && paced.find((p) => p.server === 'baseline' && p.result.rate === steady.result.rate);
  if (half || steady) {
    const rate = half?.load.overallRate ?? steady!.result.rate;
    const figures = [
      ...(half ? [`autocannon overallRate p50 ${fmt(half.load.latencyMs.p50, 2)} ms, p99 ${fmt(half.load.latencyMs.p99, 2)} ms`] : []),
      ...(steady ? [`steady p50 ${fmt(steady.result.serviceMs.p50, 2)} ms, p99 ${fmt(steady.result.serviceMs.p99, 2)} ms`] : []),
      ...(steadyBase ? [`bare Fastify steady at that rate p99 ${fmt(steadyBase.result.serviceMs.p99, 2)} ms`] : []),
    ];
    parts.push(`at half load (${fmt(rate)} req/s) ${figures.join(', ')} (target p99 < 5)`);
  }
  if (b64?.rowsPerPass) parts.push(`${fmt(b64.rowsPerPass, 1)} rows per forward pass at c=64`);
  if (swap)
    parts.push(
      `hot swap under c=${swap.load.connections}: ${swap.non2xx} non-2xx, p99 ${fmt(swap.latencyMs.before.p99, 1)} → ${fmt(swap.latencyMs.during.p99, 1)} ms`,
    );
  const rounds = Math.max(0, ...runs.map((r) => r.tries?.length ?? 0));
  return `batched V1, one flights instance per request, median of ${rounds} rounds (target ≥ 0.7× bare Fastify at c=64): ${parts.join('; ')}; autocannon on the same ${cores} cores`;
}
