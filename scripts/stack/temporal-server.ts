import path from 'node:path';
import { Connection } from '@temporalio/client';
import { childEnvironment, type PipewrightConfig, type TemporalAuthConfig } from '../../lib/config';
import { securityHint, temporalSecurity } from '../../lib/connection/temporal-security';
import { SEARCH_ATTRIBUTES } from '../../contracts';
import { bindAddress } from './bind-host';
import { GiveUp, startProcess, waitFor, type ManagedProcess } from './child-process';
import { codecUrl } from './codec-endpoint';
import type { EmbeddedService } from './supervisor';
import type { PostgresEndpoint } from './postgres';
import { startTemporalCluster } from './temporal-cluster';
import { ensureTemporalCli } from './temporal-cli';

export interface TemporalEndpoint {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  /** The dev server this stack runs, for it to supervise and stop; absent for TEMPORAL_ADDRESS. */
  embedded?: EmbeddedService;
}

/**
 * TEMPORAL_ADDRESS when set (the search attributes are registered there if missing); with
 * PIPEWRIGHT_TEMPORAL_CLUSTER=on (`up --cluster`), the full Temporal server on the stack's
 * PostgreSQL, which `postgres` resolves to (temporal-cluster.ts); otherwise the official CLI's dev
 * server with its SQLite file under PIPEWRIGHT_HOME (runs survive a restart) and the Web UI on.
 */
export async function startTemporal(config: PipewrightConfig, log: (line: string) => void, postgres?: Promise<PostgresEndpoint>): Promise<TemporalEndpoint> {
  if (config.temporalAddress) {
    await registerSearchAttributes(config.temporalAddress, config.temporalNamespace, config.temporalAuth);
    return { address: config.temporalAddress, namespace: config.temporalNamespace, uiUrl: config.temporalUiUrl };
  }
  const { tls, clientCertPath, serverCaCertPath, apiKey } = config.temporalAuth;
  if (tls || clientCertPath || serverCaCertPath || apiKey)
    throw new Error(
      'TEMPORAL_TLS / TEMPORAL_TLS_* / TEMPORAL_API_KEY are set, but TEMPORAL_ADDRESS is not: the Temporal server `pipewright up` starts speaks plaintext on this machine. Set TEMPORAL_ADDRESS to your secured cluster, or unset them.',
    );
  if (config.temporalCluster) {
    return startTemporalCluster(config, log, postgres);
  }
  const cli = await ensureTemporalCli(config, log);
  // PIPEWRIGHT_BIND_HOST: the frontend listens there; its Web UI stays on loopback, as the cluster's.
  const bind = bindAddress(config.bindHost);
  const address = `${bind.advertise}:${config.temporalPort}`;
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    path.join(config.home, 'temporal.db'),
    '--ip',
    bind.listen,
    '--ui-ip',
    '127.0.0.1',
    '--port',
    String(config.temporalPort),
    '--ui-port',
    String(config.temporalUiPort),
    '--namespace',
    config.temporalNamespace,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTES.flatMap((sa) => ['--search-attribute', `${sa.name}=${sa.type}`]),
    // With encrypted payloads, the Web UI decodes them through the stack's codec server.
    ...(config.payloadKeys ? ['--ui-codec-endpoint', codecUrl(config)] : []),
    // One partition per task queue: with the default four, a poll can land on an empty partition
    // and wait for forwarding while a task sits in another, which added up to seconds between steps.
    // One machine's pools need no more than one.
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    // Pools on other hosts (PIPEWRIGHT_BIND_HOST): the polls of one cut off the network go sooner
    // (clusterDynamicConfig in temporal-cluster-config.ts says why).
    '--dynamic-config-value',
    'frontend.keepAliveTime="10s"',
  ];
  // The SQLite file keeps every run, so a restarted server carries on where the last one stopped.
  const start = async (): Promise<ManagedProcess> => {
    const server = startProcess('temporal', cli, args, childEnvironment(), path.join(config.home, 'logs'));
    const ready = waitFor(`the Temporal dev server on ${address}`, 120_000, async () => {
      if (server.child.exitCode !== null) throw new GiveUp(`it exited with code ${server.child.exitCode}; see ${server.logFile}`);
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    });
    await ready.catch(async (err: unknown) => {
      await server.stop('SIGKILL');
      throw err;
    });
    // `--search-attribute` takes effect when the SQLite file is created; a home from an older
    // pipewright lacks attributes added since (PipewrightAlert), so add whatever is missing.
    await registerSearchAttributes(address, config.temporalNamespace);
    return server;
  };
  const server = await start();
  return { address, namespace: config.temporalNamespace, uiUrl: config.temporalUiUrl, embedded: { instance: server, restart: start, logFile: server.logFile } };
}

/** Registers pipewright's search attributes on an existing cluster's namespace (idempotent). */
export async function registerSearchAttributes(address: string, namespace: string, auth?: TemporalAuthConfig): Promise<void> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5000, ...(auth ? temporalSecurity(auth) : {}) });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${address} (${(err as Error).message}); check TEMPORAL_ADDRESS or unset it to use the embedded dev server.${auth ? securityHint(auth) : ''}`,
      { cause: err },
    );
  }
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTES.filter((sa) => !(sa.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    // 2 = INDEXED_VALUE_TYPE_KEYWORD
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((sa) => [sa.name, 2])),
    });
  } finally {
    await connection.close();
  }
}
