import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Pool } from 'pg';
import { decodeOutputs, describeOutput, labelHead } from '../features/label-task';
import { readTransform, type FittedTransform } from '../features/transform';
import { initBackend } from '../models/backend';
import { loadSavedModel } from '../models/model-io';
import { predictCodes } from '../models/predict';
import { productionModels, productionVersion, type ModelVersionRow } from '../registry/model-registry';
import { BadRequestError, encodeInstanceCodes, instanceFields } from './instances';

interface LoadedModel {
  row: ModelVersionRow;
  model: LayersModel;
  transform: FittedTransform;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Serves production models from the registry over HTTP, TF-Serving / KServe V1 style:
 *   GET  /v1/models/{name}            version status
 *   GET  /v1/models/{name}/metadata   the raw fields an instance needs, the task, its classes, what the output is
 *   POST /v1/models/{name}:predict    {"instances":[{...raw fields}]} -> {"predictions":[...]}, one per instance:
 *                                     binary: the probability; multiclass: {"class": name, "probabilities":
 *                                     {name: p, ...}}; regression: the value in the label's units
 *   POST /admin/reload                load the current production versions (the deploy pool calls it)
 *   GET  /healthz
 * Each prediction applies the fitted transform stored with the model version.
 */
export class ModelServer {
  private readonly models = new Map<string, LoadedModel>();
  private server: http.Server | undefined;
  backend = 'unset';

  constructor(private readonly pool: Pool) {}

  async start(port: number, host = '127.0.0.1'): Promise<number> {
    // Requests are a few rows each: latency favours wasm over a GPU round trip (see BackendHints).
    this.backend = await initBackend(undefined, { batchSize: 1 });
    await this.reloadAll();
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => sendJson(res, 500, { error: `internal error: ${(err as Error).message}` }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const loaded of this.models.values()) loaded.model.dispose();
    this.models.clear();
  }

  /**
   * Loads every production version that is not loaded yet; returns what is served now. A version
   * that cannot be loaded (its artifacts gone, a foreign format) is reported on stderr and skipped,
   * so one broken model does not keep the others from being served.
   */
  async reloadAll(): Promise<Array<{ name: string; version: number }>> {
    for (const row of await productionModels(this.pool)) {
      try {
        await this.ensureLoaded(row);
      } catch (err) {
        console.error(`model server: cannot load ${row.name} v${row.version} (${row.modelUri}): ${(err as Error).message}; not serving it`);
      }
    }
    return [...this.models.values()].map((m) => ({ name: m.row.name, version: m.row.version }));
  }

  async reload(name: string): Promise<{ name: string; version: number } | undefined> {
    const row = await productionVersion(this.pool, name);
    if (!row) return undefined;
    await this.ensureLoaded(row);
    return { name, version: row.version };
  }

  private async ensureLoaded(row: ModelVersionRow): Promise<void> {
    const current = this.models.get(row.name);
    if (current && current.row.version === row.version) return;
    // readTransform reads every transform format (v1 of models registered before v2) in its v2 form.
    const transform = await readTransform({ uri: row.transformUri });
    const { model } = await loadSavedModel({ uri: row.modelUri }, transform);
    const head = labelHead(transform);
    const units = model.outputs[0]!.shape.at(-1);
    if (units !== head.units) {
      model.dispose();
      throw new Error(`${row.name} v${row.version}: the model gives ${units} outputs per row, but its transform's ${head.task} label needs ${head.units}`);
    }
    // Swap atomically: requests in flight keep the old model until they finish.
    this.models.set(row.name, { row, model, transform });
    current?.model.dispose();
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok', models: [...this.models.keys()] });
    if (req.method === 'POST' && path === '/admin/reload') {
      const body = await readJsonBody(req).catch(() => ({}));
      const name = typeof (body as { name?: unknown }).name === 'string' ? (body as { name: string }).name : undefined;
      const loaded = name ? await this.reload(name) : await this.reloadAll();
      return sendJson(res, 200, { loaded: loaded ?? null });
    }
    const match = /^\/v1\/models\/([A-Za-z0-9_.-]+?)(:predict|\/metadata)?$/.exec(path);
    if (!match) return sendJson(res, 404, { error: `no route for ${req.method} ${path}; try POST /v1/models/{name}:predict` });
    const [, name, suffix] = match as unknown as [string, string, string | undefined];
    const loaded = this.models.get(name);
    if (!loaded) return sendJson(res, 404, { error: `model "${name}" has no production version; serving: ${[...this.models.keys()].join(', ') || 'none'}` });
    if (suffix === undefined && req.method === 'GET') {
      return sendJson(res, 200, {
        model_version_status: [{ version: String(loaded.row.version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      });
    }
    if (suffix === '/metadata' && req.method === 'GET') {
      const head = labelHead(loaded.transform);
      return sendJson(res, 200, {
        name,
        version: loaded.row.version,
        backend: loaded.row.backend,
        metrics: loaded.row.metrics,
        inputs: instanceFields(loaded.transform),
        task: head.task,
        ...(head.classes ? { classes: head.classes } : {}),
        output: describeOutput(loaded.transform),
      });
    }
    if (suffix === ':predict' && req.method === 'POST') return this.predict(req, res, loaded);
    return sendJson(res, 405, { error: `${req.method} is not allowed on ${path}` });
  }

  private async predict(req: http.IncomingMessage, res: http.ServerResponse, loaded: LoadedModel): Promise<void> {
    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (err) {
      return sendJson(res, 400, { error: (err as Error).message });
    }
    if (typeof body !== 'object' || body === null || !('instances' in body)) {
      return sendJson(res, 400, { error: 'request body must be a JSON object with an "instances" array, e.g. {"instances":[{...}]}' });
    }
    let encoded: { codes: Float32Array; rows: number };
    try {
      encoded = encodeInstanceCodes(loaded.transform, (body as { instances: unknown }).instances);
    } catch (err) {
      if (err instanceof BadRequestError) return sendJson(res, 400, { error: err.message });
      throw err;
    }
    const { codes, rows } = encoded;
    const outputs = await predictCodes(loaded.model, loaded.transform, codes, rows);
    const predictions = decodeOutputs(loaded.transform, outputs, rows, outputs.length / rows);
    sendJson(res, 200, { predictions, model_name: loaded.row.name, model_version: loaded.row.version });
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body is larger than ${MAX_BODY_BYTES} bytes; send fewer instances per request`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
