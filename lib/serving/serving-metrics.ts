import type { PredictionLogStats } from './prediction-log';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: sub-millisecond resolution where a served prediction should be. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * The model server's Prometheus metrics, in a registry of its own (several servers in one process,
 * as in tests, do not share counters). `model` labels carry only names the server serves; an
 * unknown name from a client is counted as "unknown", so clients cannot grow the label set.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'pipewright_serving_requests_total',
    help: 'HTTP requests answered, by route, model and status code',
    labelNames: ['route', 'model', 'code'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'pipewright_serving_request_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, by route and model',
    labelNames: ['route', 'model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchRows = new Histogram({
    name: 'pipewright_serving_batch_rows',
    help: 'Rows per forward pass (micro-batching groups concurrent requests)',
    labelNames: ['model'] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchRequests = new Histogram({
    name: 'pipewright_serving_batch_requests',
    help: 'Requests per forward pass',
    labelNames: ['model'] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  private readonly predictions = new Counter({
    name: 'pipewright_serving_predictions_total',
    help: 'Rows predicted, by model and version',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'pipewright_serving_errors_total',
    help: 'Requests refused (bad_request, not_found, too_large, ...) or failed (internal), by model',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly version = new Gauge({
    name: 'pipewright_serving_model_version',
    help: 'The version served per model and role (production)',
    labelNames: ['model', 'role'] as const,
    registers: [this.registry],
  });

  constructor(predictionLog?: () => PredictionLogStats | undefined) {
    collectDefaultMetrics({ register: this.registry });
    if (predictionLog) {
      const logged = new Gauge({
        name: 'pipewright_prediction_log_rows',
        help: 'Prediction log rows since start: logged to PostgreSQL, dropped (queue full or database failing), queued',
        labelNames: ['state'] as const,
        registers: [this.registry],
        collect() {
          const stats = predictionLog();
          if (!stats) return;
          this.set({ state: 'logged' }, stats.logged);
          this.set({ state: 'dropped' }, stats.dropped);
          this.set({ state: 'queued' }, stats.queued);
        },
      });
      void logged;
    }
  }

  request(route: string, model: string, code: number, seconds: number): void {
    this.requests.inc({ route, model, code: String(code) });
    this.latency.observe({ route, model }, seconds);
  }

  batch(model: string, rows: number, requests: number): void {
    this.batchRows.observe({ model }, rows);
    this.batchRequests.observe({ model }, requests);
  }

  predicted(model: string, version: number, rows: number): void {
    this.predictions.inc({ model, version: String(version) }, rows);
  }

  error(model: string, kind: string): void {
    this.errors.inc({ model, kind });
  }

  served(models: ReadonlyArray<{ name: string; version: number }>): void {
    this.version.reset();
    for (const m of models) this.version.set({ model: m.name, role: 'production' }, m.version);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
