import { pgPool } from '../lib/db/pg-pools';
import { promoteToProduction } from '../lib/registry/model-registry';
import { runLoad, summarize, type LatencySummary, type LoadResult } from './serving-load';

/**
 * The hot swap of bench/serving.ts: a load at `connections` for `seconds`; after `swapAfterSeconds`
 * the production alias moves to `toVersion` and the server is told to reload (POST /admin/reload,
 * what the deploy pool does). Every response's status, latency and model_version is kept, so the
 * figures say whether any request failed, what the swap did to latency, and from when the answers
 * came from the new version.
 */

export interface SwapResult {
  fromVersion: number;
  toVersion: number;
  load: LoadResult;
  /** Seconds into the load when the alias moved, and how long promote + reload took. */
  swapAtSeconds: number;
  promoteMs: number;
  reloadMs: number;
  /** What the reload answered. */
  reloadAnswer: unknown;
  /** Latency (2xx) of responses completed before the swap began, during it (until 1 s after the reload answered), and after. */
  latencyMs: { before: LatencySummary; during: LatencySummary; after: LatencySummary };
  responses: { before: number; during: number; after: number };
  /** Responses by the model_version they carried. */
  byVersion: Record<string, number>;
  /** Responses from the old version completed after the reload answered (requests already in a batch then), and from the new one before the swap began (must be 0). */
  oldAfterReload: number;
  newBeforeSwap: number;
  /** Milliseconds from the reload's answer to the last old-version response. */
  lastOldAfterReloadMs: number | null;
  /** A request after the load: the version it came from. */
  finalVersion: number | null;
  non2xx: number;
  errors: number;
}

const VERSION = /"model_version":"?(\d+)/;

export async function measureHotSwap(options: {
  url: string;
  path: string;
  bodies: readonly string[];
  connections: number;
  seconds: number;
  swapAfterSeconds: number;
  serverPid: number;
  databaseUrl: string;
  model: string;
  fromVersion: number;
  toVersion: number;
}): Promise<SwapResult> {
  const events: Array<{ at: number; status: number; latency: number; version: number }> = [];
  let lastVersion = -1;
  let swapAt = Number.POSITIVE_INFINITY;
  let reloadDone = Number.POSITIVE_INFINITY;
  let promoteMs = Number.NaN;
  let reloadMs = Number.NaN;
  let reloadAnswer: unknown;
  const started = performance.now();
  const swap = (async () => {
    await new Promise((r) => setTimeout(r, options.swapAfterSeconds * 1000));
    swapAt = performance.now();
    await promoteToProduction(pgPool(options.databaseUrl), options.model, options.toVersion, { actor: 'bench/serving', reason: 'hot swap under load' });
    const promoted = performance.now();
    promoteMs = promoted - swapAt;
    const res = await fetch(`${options.url}/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: options.model }),
    });
    reloadAnswer = await res.json();
    reloadDone = performance.now();
    reloadMs = reloadDone - promoted;
    if (!res.ok) throw new Error(`POST /admin/reload answered ${res.status}: ${JSON.stringify(reloadAnswer)}`);
  })();
  const [load] = await Promise.all([
    runLoad({
      url: options.url,
      path: options.path,
      bodies: options.bodies,
      connections: options.connections,
      seconds: options.seconds,
      warmupSeconds: 0,
      serverPid: options.serverPid,
      onBody: (_status, body) => {
        const m = VERSION.exec(body);
        lastVersion = m ? Number(m[1]) : -1;
      },
      onLatency: (status, latency, at) => {
        events.push({ at, status, latency, version: lastVersion });
        lastVersion = -1;
      },
    }),
    swap,
  ]);
  const duringEnd = reloadDone + 1000;
  const window = (e: { at: number }): 'before' | 'during' | 'after' => (e.at < swapAt ? 'before' : e.at < duringEnd ? 'during' : 'after');
  const ok = (e: { status: number }): boolean => e.status >= 200 && e.status < 300;
  const latencies = { before: [] as number[], during: [] as number[], after: [] as number[] };
  const responses = { before: 0, during: 0, after: 0 };
  const byVersion: Record<string, number> = {};
  let oldAfterReload = 0;
  let newBeforeSwap = 0;
  let lastOld: number | null = null;
  for (const e of events) {
    const w = window(e);
    responses[w]++;
    if (ok(e)) latencies[w].push(e.latency);
    byVersion[String(e.version)] = (byVersion[String(e.version)] ?? 0) + 1;
    if (e.version === options.fromVersion && e.at > reloadDone) {
      oldAfterReload++;
      lastOld = e.at - reloadDone;
    }
    if (e.version === options.toVersion && e.at < swapAt) newBeforeSwap++;
  }
  const finalVersion = await fetch(`${options.url}${options.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: options.bodies[0],
  })
    .then((res) => res.text())
    .then((text) => {
      const m = VERSION.exec(text);
      return m ? Number(m[1]) : null;
    })
    .catch(() => null);
  return {
    fromVersion: options.fromVersion,
    toVersion: options.toVersion,
    load,
    swapAtSeconds: (swapAt - started) / 1000,
    promoteMs,
    reloadMs,
    reloadAnswer,
    latencyMs: { before: summarize(latencies.before), during: summarize(latencies.during), after: summarize(latencies.after) },
    responses,
    byVersion,
    oldAfterReload,
    newBeforeSwap,
    lastOldAfterReloadMs: lastOld,
    finalVersion,
    non2xx: load.non2xx,
    errors: load.errors,
  };
}
