import type { PipewrightConfig } from '../../lib/config';
import { WORKER_POOLS } from '../../contracts';
import { findRunningStack, startStack, type Stack } from '../stack/stack';

/** Where a command sends its work: an existing Temporal (+ database), or a stack it started itself. */
export interface Target {
  temporalAddress: string;
  namespace: string;
  databaseUrl: string | undefined;
  uiUrl: string | null;
  serveUrl: string | null;
  /** Prefix of the pools' task queues (PIPEWRIGHT_QUEUE_PREFIX). */
  queuePrefix: string;
  /** The embedded S3 server of the stack, when it runs one (an s3:// artifact store without PIPEWRIGHT_S3_ENDPOINT). */
  s3Endpoint?: string;
  /** Set when this command brought the stack up and must take it down. */
  ownStack?: Stack;
}

/**
 * TEMPORAL_ADDRESS when set; else the stack a `pipewright up` is running for this PIPEWRIGHT_HOME;
 * else (when allowed) an embedded stack brought up for this command alone.
 */
export async function resolveTarget(config: PipewrightConfig, allowEmbedded: boolean, log: (line: string) => void): Promise<Target> {
  if (config.temporalAddress) {
    return {
      temporalAddress: config.temporalAddress,
      namespace: config.temporalNamespace,
      databaseUrl: config.databaseUrl,
      uiUrl: config.temporalUiUrl ?? null,
      serveUrl: config.serveUrl,
      queuePrefix: config.queuePrefix,
    };
  }
  const running = await findRunningStack(config);
  if (running) {
    return {
      temporalAddress: running.temporalAddress,
      namespace: running.namespace,
      databaseUrl: running.databaseUrl,
      uiUrl: running.uiUrl,
      serveUrl: running.serveUrl,
      queuePrefix: running.queuePrefix,
      ...(running.s3Endpoint ? { s3Endpoint: running.s3Endpoint } : {}),
    };
  }
  if (!allowEmbedded) {
    throw new Error(`no running pipewright stack for PIPEWRIGHT_HOME=${config.home}; start one with \`pipewright up\` or set TEMPORAL_ADDRESS.`);
  }
  log('No running stack found: starting an embedded one for this command (Temporal dev server, PostgreSQL, all pools, model server)...');
  const stack = await startStack(config, { pools: WORKER_POOLS, modelServer: true, log });
  return {
    temporalAddress: stack.info.temporalAddress,
    namespace: stack.info.namespace,
    databaseUrl: stack.info.databaseUrl,
    uiUrl: stack.info.uiUrl,
    serveUrl: stack.info.serveUrl,
    queuePrefix: stack.info.queuePrefix,
    ...(stack.info.s3Endpoint ? { s3Endpoint: stack.info.s3Endpoint } : {}),
    ownStack: stack,
  };
}
