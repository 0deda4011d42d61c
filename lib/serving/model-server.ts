import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { initBackend } from '../models/backend';
import { DEFAULT_BATCHING, type BatchingOptions } from './micro-batcher';
import { ServedModels } from './served-models';
import type { PredictionLog } from './prediction-log';
import { buildServingApp, type ServingAppDeps } from './serving-app';
import { ServingMetrics } from './serving-metrics';

export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ModelServerOptions {
  batching?: BatchingOptions;
  /** pino logger for the server's JSON logs; none by default (tests). */
  logger?: FastifyBaseLogger;
  /** Where predictions are logged (PredictionLog), with its feedback store and counters. */
  predictionLog?: Pick<PredictionLog, 'log' | 'stats'>;
  feedback?: ServingAppDeps['feedback'];
  bodyLimit?: number;
}

/**
 * Serves the registry's production models (and any registered version by number) over HTTP: KServe
 * V2 and TF-Serving V1 inference on raw features, each transformed by the version's own fitted
 * transform; concurrent requests are micro-batched per version; Prometheus metrics at /metrics.
 * See serving-app.ts for the routes.
 */
export class ModelServer {
  readonly models: ServedModels;
  readonly metrics: ServingMetrics;
  readonly app: FastifyInstance;
  backend = 'unset';

  constructor(pool: Pool, options: ModelServerOptions = {}) {
    const logger = options.logger;
    this.metrics = new ServingMetrics(options.predictionLog ? () => options.predictionLog!.stats() : undefined);
    this.models = new ServedModels(pool, {
      batching: options.batching ?? DEFAULT_BATCHING,
      onBatch: (model, rows, requests) => this.metrics.batch(model, rows, requests),
      warn: (message) => (logger ? logger.warn(message) : console.error(`model server: ${message}`)),
    });
    this.app = buildServingApp({
      models: this.models,
      metrics: this.metrics,
      logger: logger ?? false,
      bodyLimit: options.bodyLimit ?? MAX_BODY_BYTES,
      ...(options.predictionLog ? { predictionLog: options.predictionLog } : {}),
      ...(options.feedback ? { feedback: options.feedback } : {}),
      reload: (name) => (name ? this.models.reload(name) : this.models.reloadAll()),
    });
  }

  /** Loads the production versions, then listens; the app can also be driven without a socket through `app.inject()` after `ready()`. */
  async start(port: number, host = '127.0.0.1'): Promise<number> {
    await this.ready();
    await this.app.listen({ port, host });
    return (this.app.server.address() as AddressInfo).port;
  }

  async ready(): Promise<void> {
    // Requests are a few rows each: latency favours wasm over a GPU round trip (see BackendHints).
    this.backend = await initBackend(undefined, { batchSize: 1 });
    this.metrics.served(await this.models.reloadAll());
    await this.app.ready();
  }

  async stop(): Promise<void> {
    await this.app.close();
    this.models.dispose();
  }

  reloadAll(): Promise<Array<{ name: string; version: number }>> {
    return this.models.reloadAll();
  }
}
