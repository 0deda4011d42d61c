import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePipelineSpec } from '../lib/spec/pipeline-spec';
import { v2Request } from '../scripts/client/predict';
import { recordResult } from './record';
import { runLoad } from './serving-load';
import { pacedLoad } from './serving-paced';
import { batchCounters, postgresCpuSeconds, startBaselineServer, startModelServer, type ServerUnderTest } from './serving-processes';
import { fmt, halfLoadTable, headlineOf, loadTable, SERVER_LABELS, swapTable, type PacedRun, type ServingRun } from './serving-report';
import { withServingData } from './serving-stack';
import { measureHotSwap, type SwapResult } from './serving-swap';

/**
 * The model server under load (lib/serving, scripts/model-server.ts), against bare Fastify in the
 * same run.
 *
 * 1. A stack of its own (bench/serving-stack.ts: a temporary PIPEWRIGHT_HOME, or BENCH_HOME; ports +
 *    BENCH_PORT_OFFSET) loads BENCH_ROWS of the flights table and runs the demo spec on it twice
 *    (model seeds 7 and 8, no evaluation stage), so the registry holds two versions; then only its
 *    PostgreSQL keeps running.
 * 2. Servers, each a process of its own on loopback: the model server with batching on and the
 *    prediction log off (`batched`), batching off (`unbatched`, PIPEWRIGHT_SERVE_BATCH_ROWS=1), the
 *    defaults a user gets (`logged`: batching on, prediction log on), and bare Fastify answering a
 *    constant JSON on the same routes (`baseline`, bench/serving-baseline-server.ts).
 * 3. autocannon in this process (bench/serving-load.ts), one real flights instance per request
 *    (BENCH_SERVING_BODIES distinct rows of the table, sent in turn), V1 `:predict` at each
 *    concurrency of BENCH_SERVING_CONNECTIONS, servers interleaved per concurrency; V2 `/infer` at
 *    c=64 for batched and baseline; then batched and logged at half their c=64 requests/s, with
 *    autocannon's overallRate and with a steady open-loop load (bench/serving-paced.ts: autocannon
 *    sends each second's quota in a burst at the start of the second).
 * 4. The hot swap (bench/serving-swap.ts) on the batched server: the other version promoted and
 *    POST /admin/reload after BENCH_SERVING_SWAP_AFTER seconds of a BENCH_SERVING_SWAP_SECONDS load.
 *
 *   npm run -s build && node dist/bench/serving.js      # about 7 minutes on 2 cores
 *
 * Env: BENCH_SERVING_SECONDS (5 measured per load), BENCH_SERVING_WARMUP (2 s before each),
 * BENCH_SERVING_CONNECTIONS (1,16,64), BENCH_SERVING_SERVERS (baseline,batched,unbatched,logged),
 * BENCH_SERVING_REPEATS (3 rounds of every closed-loop load; the median try reported, and the
 * median of its ratios to bare Fastify in the same round),
 * BENCH_SERVING_BODIES (1000), BENCH_SERVING_SWAP_SECONDS (10), BENCH_SERVING_SWAP_AFTER (4),
 * BENCH_ROWS (200,000), BENCH_SPEC (examples/flights.json), BENCH_HOME (a temporary folder),
 * BENCH_PORT_OFFSET (900: Temporal 8133, PostgreSQL 6333, servers from 9402). A run with other
 * than the default servers, connections or seconds is printed, not recorded, unless BENCH_RECORD=1.
 */

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const list = (name: string, fallback: string): string[] =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const log = (line: string): void => void process.stderr.write(`[serving] ${line}\n`);

const DEFAULT_SERVERS = 'baseline,batched,unbatched,logged';
const DEFAULT_CONNECTIONS = '1,16,64';

/** The model server's environment per configuration. */
const MODEL_SERVER_ENV: Record<string, Record<string, string>> = {
  batched: { PIPEWRIGHT_PREDICTION_LOG: 'off' },
  unbatched: { PIPEWRIGHT_PREDICTION_LOG: 'off', PIPEWRIGHT_SERVE_BATCH_ROWS: '1' },
  logged: {},
};

/**
 * Per server, route and concurrency, the try with the median requests/s (the lower middle one for
 * an even count), with every try's requests/s, and the median over rounds of its ratio to bare
 * Fastify measured in the same round: the two loads of a round ran seconds apart, so a busy moment
 * on the machine weighs on both, which it does not on the fastest of each.
 */
function medianTries(tries: readonly ServingRun[]): ServingRun[] {
  const groups = new Map<string, ServingRun[]>();
  for (const t of tries) {
    const key = `${t.server} ${t.route} ${t.load.connections}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  return [...groups.values()].map((group) => {
    const sorted = [...group].sort((a, b) => a.load.requestsPerSec - b.load.requestsPerSec);
    const chosen = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const ratios = group.flatMap((t) => {
      const base = tries.find((b) => b.server === 'baseline' && b.route === t.route && b.load.connections === t.load.connections && b.round === t.round);
      return base ? [t.load.requestsPerSec / base.load.requestsPerSec] : [];
    });
    return {
      ...chosen,
      tries: group.map((t) => t.load.requestsPerSec),
      ...(ratios.length ? { ratios, ratio: median(ratios) } : {}),
    };
  });
}

async function main(): Promise<void> {
  const specPath = path.resolve(process.env.BENCH_SPEC ?? path.join(__dirname, '..', '..', 'examples', 'flights.json'));
  const spec = parsePipelineSpec(JSON.parse(readFileSync(specPath, 'utf8')), specPath);
  const seconds = num('BENCH_SERVING_SECONDS', 5);
  const warmupSeconds = num('BENCH_SERVING_WARMUP', 2);
  const connections = list('BENCH_SERVING_CONNECTIONS', DEFAULT_CONNECTIONS).map(Number);
  const serverNames = list('BENCH_SERVING_SERVERS', DEFAULT_SERVERS);
  const portOffset = num('BENCH_PORT_OFFSET', 900);
  const rows = num('BENCH_ROWS', 200_000);
  const loadAtStart = os.loadavg()[0]!;
  log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} on ${os.cpus().length} cores`,
  );
  const started = performance.now();

  const outcome = await withServingData(
    spec,
    { ...(process.env.BENCH_HOME ? { home: path.resolve(process.env.BENCH_HOME) } : {}), portOffset, rows, instances: num('BENCH_SERVING_BODIES', 1000), log },
    async (data) => {
      const logDir = path.join(data.home, 'logs');
      const v1Path = `/v1/models/${data.model}:predict`;
      const v2Path = `/v2/models/${data.model}/infer`;
      const v1Bodies = data.instances.map((i) => JSON.stringify({ instances: [i] }));
      const v2Bodies = data.instances.map((i) => JSON.stringify(v2Request([{ ...i }])));
      log(`${data.instances.length} distinct flights, e.g. ${v1Bodies[0]}`);

      const servers = new Map<string, ServerUnderTest>();
      try {
        let port = 8501 + portOffset + 1;
        for (const name of serverNames) {
          const server =
            name === 'baseline'
              ? await startBaselineServer('bench-baseline', port++, logDir)
              : await startModelServer(`bench-${name}`, port++, data.databaseUrl, MODEL_SERVER_ENV[name] ?? {}, logDir);
          servers.set(name, server);
          // A real answer before any load: the model is loaded and predicts.
          for (const [route, body] of [
            [v1Path, v1Bodies[0]!],
            [v2Path, v2Bodies[0]!],
          ] as const) {
            const res = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
            const text = await res.text();
            if (!res.ok) throw new Error(`${name}: POST ${route} answered ${res.status}: ${text}`);
            if (route === v1Path) log(`${name} on ${server.url} (pid ${server.pid}): ${text.slice(0, 200)}`);
          }
        }

        // JIT and tfjs warm-up, so that the first measured load (c=1) does not pay for it.
        for (const [name, server] of servers) {
          await runLoad({ url: server.url, path: v1Path, bodies: v1Bodies, connections: 16, seconds: 3, warmupSeconds: 0 });
          if (name === 'baseline' || name === 'batched')
            await runLoad({ url: server.url, path: v2Path, bodies: v2Bodies, connections: 16, seconds: 1, warmupSeconds: 0 });
        }

        const tries: ServingRun[] = [];
        let round = 0;
        const measure = async (name: string, route: 'v1' | 'v2', c: number, overallRate?: number): Promise<ServingRun> => {
          const server = servers.get(name)!;
          const isModel = name !== 'baseline';
          const before = isModel ? await batchCounters(server.url) : undefined;
          const loadAverage = os.loadavg()[0]!;
          const load = await runLoad({
            url: server.url,
            path: route === 'v1' ? v1Path : v2Path,
            bodies: route === 'v1' ? v1Bodies : v2Bodies,
            connections: c,
            seconds,
            warmupSeconds,
            serverPid: server.pid,
            ...(isModel ? { databaseCpuSeconds: () => postgresCpuSeconds(path.join(data.home, 'postgres')) } : {}),
            ...(overallRate ? { overallRate } : {}),
          });
          const after = isModel ? await batchCounters(server.url) : undefined;
          const passes = after && before ? after.passes - before.passes : 0;
          const run: ServingRun = {
            server: name,
            route,
            mode: overallRate ? 'half' : 'closed',
            round,
            load,
            rowsPerPass: after && before && passes > 0 ? (after.rows - before.rows) / passes : null,
            requestsPerPass: after && before && passes > 0 ? (after.requests - before.requests) / passes : null,
            ...(after && before && name === 'logged' ? { logDropped: after.predictionLog.dropped! - before.predictionLog.dropped! } : {}),
            loadAverage,
          };
          tries.push(run);
          log(
            `${name} ${route} c=${c}${overallRate ? ` rate ${Math.round(overallRate)}/s` : ''}: ${fmt(load.requestsPerSec)} req/s, p50 ${fmt(load.latencyMs.p50, 2)} ` +
              `p99 ${fmt(load.latencyMs.p99, 2)} ms, non-2xx ${load.non2xx}, errors ${load.errors}` +
              `${run.rowsPerPass !== null ? `, ${fmt(run.rowsPerPass, 1)} rows/pass` : ''}, CPU server ${fmt(load.serverCpu, 2)} autocannon ${fmt(load.loadGeneratorCpu, 2)}${name === 'logged' ? ` PostgreSQL ${fmt(load.databaseCpu, 2)}` : ''}, load ${fmt(loadAverage, 1)}`,
          );
          return run;
        };

        // Rounds of every server at every concurrency, the servers one after another at each, so that
        // a busy moment on the machine (other jobs share its 2 cores) weighs on a server and its
        // baseline alike; the median try is reported (medianTries).
        const top = Math.max(...connections);
        const repeats = num('BENCH_SERVING_REPEATS', 3);
        for (round = 0; round < repeats; round++) {
          log(`round ${round + 1}/${repeats}`);
          for (const c of connections) for (const name of serverNames) await measure(name, 'v1', c);
          for (const name of ['baseline', 'batched'].filter((n) => servers.has(n))) await measure(name, 'v2', top);
        }
        round = repeats;
        const runs = medianTries(tries);

        const paced: PacedRun[] = [];
        for (const name of ['batched', 'logged'].filter((n) => servers.has(n))) {
          const full = runs.find((r) => r.server === name && r.route === 'v1' && r.mode === 'closed' && r.load.connections === top);
          if (!full) continue;
          const rate = Math.max(1, Math.round(full.load.requestsPerSec / 2));
          runs.push(await measure(name, 'v1', top, rate));
          // The same rate, steady; and bare Fastify at it, for what the machine alone adds to the tail.
          for (const target of [name, 'baseline'].filter((n) => servers.has(n))) {
            const server = servers.get(target)!;
            const before = target === 'baseline' ? undefined : await batchCounters(server.url);
            const loadAverage = os.loadavg()[0]!;
            const result = await pacedLoad({ url: server.url, path: v1Path, bodies: v1Bodies, rate, seconds, connections: top, serverPid: server.pid });
            const after = before ? await batchCounters(server.url) : undefined;
            const rowsPerPass = before && after && after.passes > before.passes ? (after.rows - before.rows) / (after.passes - before.passes) : null;
            paced.push({ server: target, result, rowsPerPass, loadAverage });
            log(
              `${target} v1 steady ${rate}/s on ${top} connections: ${fmt(result.requestsPerSec)} req/s, p50 ${fmt(result.serviceMs.p50, 2)} p99 ${fmt(result.serviceMs.p99, 2)} ms ` +
                `(from when due: p99 ${fmt(result.latencyMs.p99, 2)} ms), non-2xx ${result.non2xx}, errors ${result.errors}, load ${fmt(loadAverage, 1)}`,
            );
          }
        }

        let swap: SwapResult | undefined;
        const batched = servers.get('batched');
        if (batched) {
          const to = data.versions.find((v) => v !== data.production)!;
          log(`hot swap: production v${data.production} → v${to} under load`);
          swap = await measureHotSwap({
            url: batched.url,
            path: v1Path,
            bodies: v1Bodies,
            connections: 16,
            seconds: num('BENCH_SERVING_SWAP_SECONDS', 10),
            swapAfterSeconds: num('BENCH_SERVING_SWAP_AFTER', 4),
            serverPid: batched.pid,
            databaseUrl: data.databaseUrl,
            model: data.model,
            fromVersion: data.production,
            toVersion: to,
          });
        }
        return { runs, paced, swap, data, tries };
      } finally {
        for (const server of servers.values()) await server.stop();
      }
    },
  );

  const { runs, paced, swap, data, tries } = outcome;
  const loadAtEnd = os.loadavg()[0]!;
  console.log(`\n${loadTable(runs)}\n`);
  console.log(`${halfLoadTable(runs, paced)}\n`);
  if (swap) console.log(`${swapTable(swap)}\n`);
  const headline = headlineOf(runs, paced, swap, os.cpus().length);
  const totalSeconds = (performance.now() - started) / 1000;
  console.log(`${headline}\n(${fmt(totalSeconds, 0)} s in all)`);
  if (swap && (swap.non2xx > 0 || swap.errors > 0)) log(`warning: the hot swap had ${swap.non2xx} non-2xx responses and ${swap.errors} errors`);
  if (swap && swap.finalVersion !== swap.toVersion) log(`warning: after the swap the server answered from v${swap.finalVersion}, not v${swap.toVersion}`);

  const defaults = serverNames.join(',') === DEFAULT_SERVERS && connections.join(',') === DEFAULT_CONNECTIONS && seconds === 5 && warmupSeconds === 2;
  if (!defaults && process.env.BENCH_RECORD !== '1') {
    console.log('not the default servers, connections and seconds: not recorded in bench/results/serving.json (BENCH_RECORD=1 records it anyway)');
    return;
  }
  await recordResult('serving', {
    headline,
    spec: path.relative(path.join(__dirname, '..', '..'), specPath),
    rows,
    distinctInstances: data.instances.length,
    model: { name: data.model, versions: data.versions, production: data.production, runs: data.runs },
    seconds: { warmup: warmupSeconds, measured: seconds, total: totalSeconds },
    servers: Object.fromEntries(serverNames.map((n) => [n, SERVER_LABELS[n] ?? n])),
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    runs,
    tries: tries.map((t) => ({
      round: t.round,
      server: t.server,
      route: t.route,
      connections: t.load.connections,
      requestsPerSec: t.load.requestsPerSec,
      p50Ms: t.load.latencyMs.p50,
      p99Ms: t.load.latencyMs.p99,
      serverCpu: t.load.serverCpu,
      loadGeneratorCpu: t.load.loadGeneratorCpu,
      loadAverage: t.loadAverage,
    })),
    paced,
    hotSwap: swap ?? null,
    beforeRewrite: {
      note: 'measured by hand with autocannon before the Fastify rewrite, one flights instance per request: the old node:http server against bare Fastify',
      c64: { requestsPerSec: 5400, p99Ms: 20, bareFastify: 40000, ratio: 0.13 },
      c1: { requestsPerSec: 3700, bareFastify: 8200, ratio: 0.45 },
    },
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
