import { BadRequestError } from './bad-request';
import { describeName, describeValue } from './describe-value';
import { predictRows } from './predict-rows';
import { instanceRows } from './row-source';
import { sampleInstance } from './sample-instance';
import { parseVersion, type ServingRoutes } from './serving-app';

/**
 * The deploy pool's calls (bound to loopback with the rest of the server; put it behind your own
 * network policy when the server listens wider):
 *   POST   /admin/reload {name?}                    load the current production version(s)
 *   POST   /admin/check {name, version}              load a version and answer a typical instance with it
 *   POST   /admin/rollout {name, version, mode, share}  route a share of traffic to a challenger (canary) or score it beside production (shadow)
 *   GET    /admin/rollout/{name}                     the rollout's figures so far
 *   DELETE /admin/rollout/{name}                     end it; returns its last figures
 */
export function registerAdminRoutes({ app, deps }: ServingRoutes): void {
  const { models } = deps;
  const body = (value: unknown): Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const name = (value: unknown): string => {
    if (typeof value !== 'string' || value.length === 0 || value.length > 128)
      throw new BadRequestError(`"name" must be a model name, got ${describeValue(value)}`);
    return value;
  };
  const version = (value: unknown): number => {
    const parsed = parseVersion(typeof value === 'number' ? String(value) : (value as string | undefined));
    if (parsed === undefined) throw new BadRequestError('"version" is required');
    return parsed;
  };

  app.post('/admin/reload', async (request) => {
    const given = body(request.body).name;
    const loaded = await deps.reload(given === undefined ? undefined : name(given));
    deps.metrics.served(models.served());
    return { loaded: loaded ?? null };
  });

  app.post('/admin/check', async (request) => {
    const b = body(request.body);
    const loaded = await models.resolve(name(b.name), version(b.version));
    const started = performance.now();
    const instance = sampleInstance(loaded.transform);
    const [prediction] = await predictRows(loaded, instanceRows([instance]));
    return { ok: true, version: loaded.row.version, instance, prediction, latencyMs: performance.now() - started };
  });

  app.post('/admin/rollout', async (request) => {
    const b = body(request.body);
    const mode = b.mode;
    if (mode !== 'canary' && mode !== 'shadow') throw new BadRequestError(`"mode" must be "canary" or "shadow", got ${describeValue(mode)}`);
    const share = b.share;
    if (typeof share !== 'number' || !(share > 0 && share <= 1)) throw new BadRequestError(`"share" must be a number in (0, 1], got ${describeValue(share)}`);
    return models.setRollout(name(b.name), version(b.version), mode, share);
  });

  app.get<{ Params: { name: string } }>('/admin/rollout/:name', async (request) => models.rolloutStats(request.params.name));
  app.delete<{ Params: { name: string } }>('/admin/rollout/:name', async (request) => {
    if (!models.get(request.params.name)) throw new BadRequestError(`the server serves no model ${describeName(request.params.name)}`);
    return models.clearRollout(request.params.name);
  });
}
