import type { CandidateCheck, RolloutMode, RolloutStats } from '../../contracts/rollout';

/**
 * The deploy pool's side of the model server's admin routes for a release. A server that cannot be
 * reached throws (the activity retries); a request the server refuses comes back as its message.
 */
async function call(serveUrl: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${serveUrl}${route}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status >= 500) throw new Error(`model server at ${serveUrl}: ${method} ${route} answered HTTP ${response.status} ${JSON.stringify(parsed)}`);
  return { status: response.status, body: parsed };
}

export async function checkVersion(serveUrl: string, model: string, version: number): Promise<CandidateCheck> {
  const { status, body } = await call(serveUrl, 'POST', '/admin/check', { name: model, version });
  if (status === 200) return { ok: true, latencyMs: body.latencyMs as number };
  return { ok: false, reason: `${model} v${version} failed its check on the model server: ${String(body.error ?? `HTTP ${status}`)}` };
}

export async function startServerRollout(serveUrl: string, model: string, version: number, mode: RolloutMode, share: number): Promise<RolloutStats> {
  const { status, body } = await call(serveUrl, 'POST', '/admin/rollout', { name: model, version, mode, share });
  if (status !== 200) throw new Error(`model server refused the rollout of ${model} v${version}: ${String(body.error)}`);
  return body as unknown as RolloutStats;
}

export async function serverRolloutStats(serveUrl: string, model: string): Promise<RolloutStats> {
  return (await call(serveUrl, 'GET', `/admin/rollout/${encodeURIComponent(model)}`)).body as unknown as RolloutStats;
}

export async function endServerRollout(serveUrl: string, model: string): Promise<RolloutStats> {
  return (await call(serveUrl, 'DELETE', `/admin/rollout/${encodeURIComponent(model)}`)).body as unknown as RolloutStats;
}
