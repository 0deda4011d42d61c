import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Prediction } from '../features/label-task';
import type { PredictionLog } from './prediction-log';
import { BadRequestError, NotFoundError } from './bad-request';
import { describeValue } from './describe-value';
import { ModelOutputError, predictRows, rowRecords } from './predict-rows';
import type { RowSource } from './row-source';
import type { Choice, ServedModels } from './served-models';
import { registerAdminRoutes } from './routes-admin';
import { predictionDifference } from './rollout-tracker';
import type { ServingMetrics } from './serving-metrics';
import { registerV1Routes } from './routes-v1';
import { registerV2Routes } from './routes-v2';

/** What the server hands each prediction to (PredictionLog in the process); never awaited. */
export type PredictionSink = Pick<PredictionLog, 'log'>;

export interface ServingAppDeps {
  models: ServedModels;
  metrics: ServingMetrics;
  logger: FastifyBaseLogger | false;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  predictionLog?: PredictionSink;
  /** Records true labels for logged predictions (the feedback route); absent without a prediction log. */
  feedback?: (input: { requestId: string; model: string; labels: Array<{ row: number; label: unknown }> }) => Promise<{ recorded: number; matched: number }>;
  /** Loads the current production version of one model, or of all. */
  reload(name?: string): Promise<unknown>;
}

/** The serving context the route modules share. */
export interface ServingRoutes {
  app: FastifyInstance;
  deps: ServingAppDeps;
  /** Predicts the rows with the chosen version, logs them, counts them (and a rollout's sides); the request's id keys the log. */
  predict(reply: FastifyReply, choice: Choice, source: RowSource, requestId: string): Promise<Prediction[]>;
}

/** How long an error message may be: a client's huge value must not come back as a huge answer. */
const MAX_ERROR_CHARS = 600;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The client's x-request-id when it is a sane token, else a new UUID: the id that ties logs, metrics and feedback together. */
function requestIdOf(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** A version number from a path: a positive integer, else a 400. */
export function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new BadRequestError(`the version in the path must be a positive integer, got ${describeValue(text)}`);
  return Number(text);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The served model a request addressed, for the metrics' model label ('' when none or unknown). */
    servedModel: string;
  }
}

/**
 * The model server's HTTP application: KServe V2 and TF-Serving V1 inference, health, metadata,
 * feedback, Prometheus metrics and the deploy pool's reload call. Every refusal is a 4xx whose
 * message names the field and quotes at most a short prefix of a bad value; a 5xx means a fault
 * in the server, never in the request.
 */
export function buildServingApp(deps: ServingAppDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: deps.bodyLimit,
    // Model names and versions are short; a 100 KB path segment is refused before any work.
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: false,
  });
  app.decorateRequest('servedModel', '');

  app.addHook('onResponse', (request, reply, done) => {
    deps.metrics.request(request.routeOptions.url ?? 'unmatched', request.servedModel, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    const { status, kind, message } = classify(err, deps.bodyLimit);
    deps.metrics.error(request.servedModel, kind);
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: `internal error: ${message.slice(0, MAX_ERROR_CHARS)}` });
    }
    request.log.info({ status, error: message.slice(0, MAX_ERROR_CHARS) }, 'request refused');
    return reply.code(status).send({ error: message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message });
  });

  app.setNotFoundHandler((request, reply) => {
    deps.metrics.error('', 'no_route');
    return reply.code(404).send({
      error: `no route for ${request.method} ${describeValue(request.url)}; the server answers POST /v2/models/{name}/infer, POST /v1/models/{name}:predict, GET /v2/models/{name}, GET /v2/health/ready, GET /metrics`,
    });
  });

  const routes: ServingRoutes = {
    app,
    deps,
    async predict(reply, choice, source, requestId) {
      const { loaded, role, tracker, shadow } = choice;
      const side = role === 'canary' ? 'challenger' : 'production';
      const started = performance.now();
      let predictions: Prediction[];
      try {
        predictions = await predictRows(loaded, source);
      } catch (err) {
        // Only the version's own faults count against it in a rollout, not a client's bad rows.
        if (tracker && (err instanceof ModelOutputError || !(err instanceof BadRequestError))) tracker.observe(side, performance.now() - started, false);
        throw err;
      }
      tracker?.observe(side, performance.now() - started, true);
      deps.metrics.predicted(loaded.row.name, loaded.row.version, predictions.length);
      const instances = deps.predictionLog ? rowRecords(loaded, source) : [];
      deps.predictionLog?.log({ requestId, model: loaded.row.name, version: loaded.row.version, role, instances, predictions, latencyMs: reply.elapsedTime });
      if (shadow && tracker) {
        // After production's answer is on its way: the shadow's work never delays the client.
        setImmediate(() => {
          const shadowStarted = performance.now();
          predictRows(shadow, source).then(
            (shadowPredictions) => {
              tracker.observe('challenger', performance.now() - shadowStarted, true);
              tracker.compared(predictions.length, predictionDifference(predictions, shadowPredictions));
              deps.predictionLog?.log({
                requestId,
                model: shadow.row.name,
                version: shadow.row.version,
                role: 'shadow',
                instances,
                predictions: shadowPredictions,
                latencyMs: performance.now() - shadowStarted,
              });
            },
            (err: unknown) => {
              if (err instanceof ModelOutputError || !(err instanceof BadRequestError)) tracker.observe('challenger', performance.now() - shadowStarted, false);
            },
          );
        });
      }
      return predictions;
    },
  };

  app.get('/healthz', async () => ({ status: 'ok', models: deps.models.names() }));
  app.get('/metrics', async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.text()));
  registerAdminRoutes(routes);
  registerV2Routes(routes);
  registerV1Routes(routes);
  return app;
}

/** Sends with the request id as a header, so a client can quote it in feedback and in a bug report. */
export function withRequestId(reply: FastifyReply, requestId: string): FastifyReply {
  return reply.header('x-request-id', requestId);
}

/** The HTTP status, the metrics' error kind and the message for an error a route threw or Fastify raised. */
function classify(err: FastifyError | Error, bodyLimit: number): { status: number; kind: string; message: string } {
  if (err instanceof BadRequestError) return { status: 400, kind: 'bad_request', message: err.message };
  if (err instanceof NotFoundError) return { status: 404, kind: 'not_found', message: err.message };
  const code = (err as FastifyError).code;
  const statusCode = (err as FastifyError).statusCode;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, kind: 'too_large', message: `the request body is larger than ${bodyLimit} bytes; send fewer instances per request` };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, kind: 'bad_json', message: `the request body is not valid JSON: ${err.message}` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, kind: 'media_type', message: `${err.message}; send the body as application/json` };
  }
  if (err instanceof SyntaxError) return { status: 400, kind: 'bad_json', message: `the request body is not valid JSON: ${err.message}` };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return { status: statusCode, kind: 'client', message: err.message };
  return { status: 500, kind: 'internal', message: err.message };
}
