import net from 'node:net';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { Runtime, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from '../lib/logging/logger';

/** The SDK's log levels in pino's names. */
const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's logger over pino: workflow and activity logs (which carry workflowId, runId,
 * activityType, attempt) and the SDK's own come out as the same JSON lines as the model server's.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    logger[PINO_LEVEL[level]](meta ?? {}, message);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

/** Whether a TCP port on loopback is free: a busy metrics port must not keep a pool from starting. */
function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * Installs the process's Temporal Runtime: logs through pino, and the SDK's worker metrics (task
 * slots, poll and schedule-to-start latencies, activity and workflow task outcomes) on a Prometheus
 * endpoint at `metricsPort` when one is given. Returns the metrics URL, or why there is none.
 */
export async function installPoolTelemetry(
  pool: string,
  logger: Logger,
  metricsPort: number | undefined,
  host = '127.0.0.1',
): Promise<{ metricsUrl?: string; note?: string }> {
  let metrics: { prometheus: { bindAddress: string } } | undefined;
  let note: string | undefined;
  if (metricsPort !== undefined) {
    if (await portFree(metricsPort, host)) metrics = { prometheus: { bindAddress: `${host}:${metricsPort}` } };
    else note = `port ${metricsPort} is in use; this ${pool} pool exports no Prometheus metrics (set PIPEWRIGHT_WORKER_METRICS_PORT to a free port)`;
  }
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(metrics ? { metrics: { ...metrics, globalTags: { pool } } } : {}),
    },
  });
  return metrics ? { metricsUrl: `http://${metrics.prometheus.bindAddress}/metrics` } : note ? { note } : {};
}
