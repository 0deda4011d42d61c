import pino, { type Logger } from 'pino';
import { loadConfig } from '../config';

/**
 * The JSON-lines logger every pipewright process writes with: one object per line, with the
 * service (model-server, pool-cpu, ...) and pid, so that logs from many processes and machines can
 * be merged and filtered by run and request id. The level comes from PIPEWRIGHT_LOG_LEVEL.
 */
export function createLogger(service: string, level: string = loadConfig().logLevel): Logger {
  return pino({ level, base: { service, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
