import { describeOutput } from '../features/label-task';
import { BadRequestError, NotFoundError } from './bad-request';
import { describeName } from './describe-value';
import { instanceFields } from './instances';
import { inputColumns, instanceRows } from './row-source';
import { parseVersion, withRequestId, type ServingRoutes } from './serving-app';

const V1_PATH = /^([A-Za-z0-9_.-]{1,128}?)(?:\/versions\/([^/:]{1,20}))?(:predict|\/metadata)?$/;

/**
 * TensorFlow Serving's REST API (KServe V1):
 *   GET  /v1/models/{name}[/versions/{v}]            version status
 *   GET  /v1/models/{name}[/versions/{v}]/metadata   the raw fields an instance needs, the task, its classes
 *   POST /v1/models/{name}[/versions/{v}]:predict    {"instances":[{...raw fields}]} -> {"predictions":[...]}
 *                                                    or {"inputs":{field:[...]}} -> {"outputs":[...]}
 * One prediction per row: binary, the probability; multiclass, {"class", "probabilities"};
 * regression, the value in the label's units. The `:predict` verb sits inside a path segment, which
 * a router's parameters cannot express, so the path after /v1/models/ is matched here.
 */
export function registerV1Routes({ app, deps, predict }: ServingRoutes): void {
  const { models } = deps;
  const target = (rest: string, method: string) => {
    const match = V1_PATH.exec(rest);
    if (!match) throw new NotFoundError(`no route for ${method} /v1/models/${describeName(rest)}; try POST /v1/models/{name}:predict`);
    const [, name, version, verb] = match as unknown as [string, string, string | undefined, string | undefined];
    return { name, version: parseVersion(version), verb };
  };

  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => {
    const { name, version, verb } = target(request.params['*'], 'GET');
    if (verb === ':predict') throw new NotFoundError(`${describeName(name)}:predict takes POST with {"instances":[...]}, not GET`);
    const loaded = await models.resolve(name, version);
    request.servedModel = name;
    if (verb === undefined) {
      return { model_version_status: [{ version: String(loaded.row.version), state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] };
    }
    return {
      name,
      version: loaded.row.version,
      backend: loaded.row.backend,
      metrics: loaded.row.metrics,
      inputs: instanceFields(loaded.transform),
      task: loaded.head.task,
      ...(loaded.head.classes ? { classes: loaded.head.classes } : {}),
      output: describeOutput(loaded.transform),
    };
  });

  app.post<{ Params: { '*': string } }>('/v1/models/*', async (request, reply) => {
    const { name, version, verb } = target(request.params['*'], 'POST');
    if (verb !== ':predict') throw new NotFoundError(`POST goes to /v1/models/${describeName(name)}:predict`);
    const choice = await models.choose(name, version);
    const { loaded } = choice;
    request.servedModel = name;
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestError('request body must be a JSON object with an "instances" array, e.g. {"instances":[{...}]}');
    }
    const record = body as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key !== 'instances' && key !== 'inputs' && key !== 'signature_name') {
        throw new BadRequestError(`the request has the key ${describeName(key)}; send "instances" (rows) or "inputs" (columns)`);
      }
    }
    if (record.signature_name !== undefined && record.signature_name !== 'serving_default') {
      throw new BadRequestError('"signature_name" must be "serving_default", the only signature a pipewright model has');
    }
    if (record.instances !== undefined && record.inputs !== undefined) throw new BadRequestError('send "instances" or "inputs", not both');
    const columnar = record.instances === undefined && record.inputs !== undefined;
    if (!columnar && record.instances === undefined) {
      throw new BadRequestError('request body must be a JSON object with an "instances" array, e.g. {"instances":[{...}]}');
    }
    const source = columnar ? inputColumns(record.inputs) : instanceRows(record.instances);
    const predictions = await predict(reply, choice, source, request.id);
    withRequestId(reply, request.id);
    return columnar
      ? { outputs: predictions, model_name: loaded.row.name, model_version: loaded.row.version }
      : { predictions, model_name: loaded.row.name, model_version: loaded.row.version };
  });
}
