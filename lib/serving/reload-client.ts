import type { RegisteredModel } from '../../contracts/refs';

export type ReloadOutcome = { served: true } | { served: false; reason: string };

/**
 * Asks the model server at `serveUrl` to load the production version of `model.name`, and checks
 * that it now serves `model.version`. A server that is not running is not an error (it loads the
 * production version when it starts): the outcome says so. A server that answers but serves
 * another version is an error, so the deploy step retries.
 */
export async function requestReload(serveUrl: string, model: RegisteredModel, timeoutMs = 60_000): Promise<ReloadOutcome> {
  let response: Response;
  try {
    response = await fetch(`${serveUrl}/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: model.name }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { served: false, reason: `model server at ${serveUrl} not reachable: ${(err as Error).message}` };
  }
  const body = (await response.json().catch(() => ({}))) as { loaded?: { version?: number } | null };
  if (!response.ok || body.loaded?.version !== model.version) {
    throw new Error(`model server at ${serveUrl} did not load ${model.name} v${model.version}: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  return { served: true };
}
