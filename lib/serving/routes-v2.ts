import { describeOutput } from '../features/label-task';
import { BadRequestError } from './bad-request';
import { describeValue } from './describe-value';
import { parseVersion, withRequestId, type ServingRoutes } from './serving-app';
import { readV2Request, v2Metadata, v2Outputs } from './v2-protocol';

interface ModelParams {
  name: string;
  version?: string;
}

/**
 * KServe V2 / Open Inference Protocol routes:
 *   GET  /v2, /v2/health/live, /v2/health/ready
 *   GET  /v2/models/{name}[/versions/{v}]           metadata: inputs (raw fields), outputs, task
 *   GET  /v2/models/{name}[/versions/{v}]/ready
 *   POST /v2/models/{name}[/versions/{v}]/infer     {"id"?, "inputs": [{name, shape, datatype, data}]}
 *   POST /v2/models/{name}/feedback                 {"id": request id, "labels": [label per row]}
 */
export function registerV2Routes({ app, deps, predict }: ServingRoutes): void {
  const { models } = deps;
  app.get('/v2', async () => ({ name: 'pipewright', version: '0.1.0', extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async () => ({ ready: true }));

  const resolve = async (params: ModelParams, request: { servedModel: string }) => {
    const loaded = await models.resolve(params.name, parseVersion(params.version));
    request.servedModel = params.name;
    return loaded;
  };

  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<{ Params: ModelParams }>(prefix, async (request) => {
      const loaded = await resolve(request.params, request);
      return v2Metadata(loaded.row.name, loaded.row.version, loaded.transform, loaded.head, describeOutput(loaded.transform));
    });
    app.get<{ Params: ModelParams }>(`${prefix}/ready`, async (request) => {
      const loaded = await resolve(request.params, request);
      return { name: loaded.row.name, version: String(loaded.row.version), ready: true };
    });
    app.post<{ Params: ModelParams }>(`${prefix}/infer`, async (request, reply) => {
      const choice = await models.choose(request.params.name, parseVersion(request.params.version));
      request.servedModel = request.params.name;
      const { loaded } = choice;
      const { source, id, outputs } = readV2Request(request.body, loaded.transform);
      const requestId = id ?? request.id;
      const predictions = await predict(reply, choice, source, requestId);
      withRequestId(reply, requestId);
      return { model_name: loaded.row.name, model_version: String(loaded.row.version), id: requestId, outputs: v2Outputs(loaded.head, predictions, outputs) };
    });
  }

  app.post<{ Params: ModelParams }>('/v2/models/:name/feedback', async (request) => {
    await resolve(request.params, request);
    if (!deps.feedback) throw new BadRequestError('this server keeps no prediction log (PIPEWRIGHT_PREDICTION_LOG=off), so it cannot take feedback');
    const body = request.body as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestError('the body must be {"id": "<request id>", "labels": [label of row 0, ...]} or {"id", "rows": [{"row": n, "label": v}]}');
    }
    const { id, labels, rows } = body;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128)
      throw new BadRequestError(`"id" must be the request id the prediction answered with, got ${describeValue(id)}`);
    return deps.feedback({ requestId: id, model: request.params.name, labels: feedbackRows(labels, rows) });
  });
}

function feedbackRows(labels: unknown, rows: unknown): Array<{ row: number; label: unknown }> {
  if (labels !== undefined && rows !== undefined) throw new BadRequestError('send "labels" or "rows", not both');
  if (Array.isArray(labels)) {
    if (labels.length === 0 || labels.length > 10_000) throw new BadRequestError(`"labels" must have 1 to 10000 entries, got ${labels.length}`);
    return labels.map((label, row) => ({ row, label: checkedLabel(label, `labels[${row}]`) }));
  }
  if (Array.isArray(rows)) {
    if (rows.length === 0 || rows.length > 10_000) throw new BadRequestError(`"rows" must have 1 to 10000 entries, got ${rows.length}`);
    return rows.map((entry, i) => {
      const { row, label } = (typeof entry === 'object' && entry !== null ? entry : {}) as { row?: unknown; label?: unknown };
      if (!Number.isSafeInteger(row) || (row as number) < 0)
        throw new BadRequestError(`rows[${i}].row must be a row index (0 or more), got ${describeValue(row)}`);
      return { row: row as number, label: checkedLabel(label, `rows[${i}].label`) };
    });
  }
  throw new BadRequestError(`"labels" must be an array with the true label of each row, got ${describeValue(labels)}`);
}

/** A label is a number, a string or a boolean, as in the table the model was trained on. */
function checkedLabel(label: unknown, where: string): unknown {
  if ((typeof label === 'number' && Number.isFinite(label)) || typeof label === 'boolean' || (typeof label === 'string' && label.length <= 1000)) return label;
  throw new BadRequestError(`${where} must be a finite number, a string or a boolean, got ${describeValue(label)}`);
}
