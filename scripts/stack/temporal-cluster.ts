import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { childEnvironment, type PipewrightConfig } from '../../lib/config';
import { SEARCH_ATTRIBUTES } from '../../contracts';
import { GiveUp, startProcess, waitFor, type ManagedProcess } from './child-process';
import { codecUrl } from './codec-endpoint';
import { ensureGoBinary, type GoBinary } from './go-binary';
import type { PostgresEndpoint } from './postgres';
import { SupervisedService, type ServiceInstance } from './supervisor';
import {
  clusterAddresses,
  clusterDynamicConfig,
  clusterPorts,
  clusterServerConfig,
  sqlEndpoint,
  TEMPORAL_SERVER_VERSION,
  toYaml,
  type ClusterAddresses,
  type ClusterPorts,
} from './temporal-cluster-config';
import { ensureClusterSchema } from './temporal-schema';
import type { TemporalEndpoint } from './temporal-server';

/** The Web UI server release built for the cluster (the dev server has the UI built in). */
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';

/** How long the namespace keeps a closed run's history. */
const RETENTION = '7 days';

/** The config file's environment name: the server reads `<root>/config/<env>.yaml`. */
const CONFIG_ENV = 'pipewright';

type BinaryConfig = Pick<PipewrightConfig, 'cacheDir' | 'executablePath'>;

/**
 * The cache folder of one release. `go install` names both the server and the UI server `server`
 * (and the schema tool `sql`), so each release gets a folder of its own: `<cacheDir>/<release>/bin`.
 */
function releaseCache(config: BinaryConfig, release: string): BinaryConfig {
  return { ...config, cacheDir: path.join(config.cacheDir, release) };
}

export function temporalServerBinary(config: Pick<PipewrightConfig, 'temporalServer'>): GoBinary {
  return {
    name: 'server',
    title: 'the Temporal server',
    module: `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
    override: { variable: 'TEMPORAL_SERVER', value: config.temporalServer },
    probeArgs: ['--version'],
    searchPath: false,
  };
}

export function temporalSqlToolBinary(config: Pick<PipewrightConfig, 'temporalSqlTool'>): GoBinary {
  return {
    name: 'sql',
    title: 'the Temporal SQL tool',
    module: `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
    override: { variable: 'TEMPORAL_SQL_TOOL', value: config.temporalSqlTool },
    probeArgs: ['--version'],
    searchPath: false,
  };
}

function temporalUiBinary(): GoBinary {
  return {
    name: 'server',
    title: 'the Temporal Web UI server',
    module: `github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`,
    probeArgs: ['--version'],
    searchPath: false,
  };
}

/** The server and its schema tool: TEMPORAL_SERVER / TEMPORAL_SQL_TOOL, the cache, else built (minutes the first time). */
export async function ensureClusterBinaries(
  config: Pick<PipewrightConfig, 'cacheDir' | 'executablePath' | 'temporalServer' | 'temporalSqlTool'>,
  log: (line: string) => void,
): Promise<{ server: string; sqlTool: string }> {
  const cache = releaseCache(config, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const server = await ensureGoBinary(temporalServerBinary(config), cache, log);
  const sqlTool = await ensureGoBinary(temporalSqlToolBinary(config), cache, log);
  return { server, sqlTool };
}

/** The Web UI server, found in the cache or built; undefined (with the reason logged) when it cannot be had: the cluster runs without a UI. */
export async function ensureUiServer(config: BinaryConfig, log: (line: string) => void): Promise<string | undefined> {
  try {
    return await ensureGoBinary(temporalUiBinary(), releaseCache(config, `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION}`), log);
  } catch (err) {
    log(`[temporal] no Web UI for the cluster: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Where the cluster's generated configuration lives. */
export function clusterDir(home: string): string {
  return path.join(home, 'temporal-cluster');
}

/** Writes the server's config and dynamic config under `<home>/temporal-cluster/config/` (rewritten at every start). */
export function writeClusterConfig(home: string, ports: ClusterPorts, addresses: ClusterAddresses, databaseUrl: string): string {
  const root = clusterDir(home);
  const configDir = path.join(root, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = path.join(configDir, 'dynamicconfig.yaml');
  const header = '# Written by `pipewright up --cluster` at every start; edits are lost.\n';
  writeFileSync(dynamicConfigFile, header + toYaml(clusterDynamicConfig(ports, addresses)));
  const configFile = path.join(configDir, `${CONFIG_ENV}.yaml`);
  writeFileSync(configFile, header + toYaml(clusterServerConfig({ ports, addresses, db: sqlEndpoint(databaseUrl), dynamicConfigFile })), { mode: 0o600 });
  return root;
}

/**
 * The full Temporal server (frontend, history, matching and worker services in one process) on the
 * project's PostgreSQL, for `pipewright up --cluster`: builds the server and its SQL tool when
 * missing, creates and migrates the `temporal` and `temporal_visibility` databases, writes its
 * config, starts it with its logs in `<home>/logs/temporal.log`, registers the namespace and
 * pipewright's search attributes, and starts the Web UI server next to it when that builds.
 */
export async function startTemporalCluster(
  config: PipewrightConfig,
  log: (line: string) => void,
  postgres: Promise<PostgresEndpoint> | undefined,
): Promise<TemporalEndpoint> {
  if (!postgres) throw new Error('the Temporal cluster needs the stack PostgreSQL endpoint; startTemporal was called without it');
  const ports = clusterPorts(config.temporalPort);
  const addresses = clusterAddresses(config.bindHost);
  const address = `${addresses.local}:${ports.frontend}`;
  // Built (when missing) while PostgreSQL starts.
  const { server: serverBinary, sqlTool } = await ensureClusterBinaries(config, log);
  const { url: databaseUrl } = await postgres;
  await ensureClusterSchema(sqlTool, databaseUrl, log);
  const root = writeClusterConfig(config.home, ports, addresses, databaseUrl);
  const logDir = path.join(config.home, 'logs');
  const args = ['--root', root, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'];

  const startServer = async (): Promise<ManagedProcess> => {
    const server = startProcess('temporal', serverBinary, args, childEnvironment(), logDir);
    try {
      await waitFor(
        `the Temporal server on ${address}`,
        180_000,
        async () => {
          if (server.child.exitCode !== null) throw new GiveUp(`it exited with code ${server.child.exitCode}; see ${server.logFile}`);
          await withConnection(address, (c) => c.workflowService.getSystemInfo({}));
          return true;
        },
        500,
      );
      await ensureNamespace(address, config.temporalNamespace, () => server.child.exitCode !== null);
    } catch (err) {
      await server.stop('SIGKILL');
      throw err;
    }
    return server;
  };
  const first = await startServer();

  // The Web UI server has a supervisor of its own: its crash must not restart Temporal.
  let ui: SupervisedService | undefined;
  let uiUrl: string | undefined;
  const uiBinary = await ensureUiServer(config, log);
  if (uiBinary) {
    const startUi = async (): Promise<ServiceInstance> => startUiServer(uiBinary, config, address, logDir);
    try {
      ui = new SupervisedService('temporal-ui', await startUi(), startUi, log, { hint: `See ${path.join(logDir, 'temporal-ui.log')}.` });
      uiUrl = config.temporalUiUrl;
    } catch (err) {
      log(`[temporal] the cluster runs without a Web UI: ${(err as Error).message}`);
    }
  }
  // The stack supervises and stops the server; stopping it stops the UI first.
  const withUi = (server: ManagedProcess): ServiceInstance => ({
    pid: server.pid,
    exited: server.exited,
    stop: async () => {
      await ui?.stop();
      await server.stop();
    },
  });
  return {
    address,
    namespace: config.temporalNamespace,
    uiUrl,
    embedded: { instance: withUi(first), restart: async () => withUi(await startServer()), logFile: first.logFile },
  };
}

async function withConnection<T>(address: string, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

/**
 * Registers the namespace (a full server starts with none but its own) and pipewright's search
 * attributes, then waits until the frontend accepts a query over them: the SQL visibility store
 * maps custom attributes onto its fixed Keyword01..Keyword10 columns through the namespace record,
 * which the services cache for a couple of seconds.
 */
export async function ensureNamespace(address: string, namespace: string, exited: () => boolean = () => false): Promise<void> {
  await waitFor(
    `namespace ${namespace} on ${address}`,
    120_000,
    async () => {
      if (exited()) throw new GiveUp('the Temporal server exited');
      return withConnection(address, async (c) => {
        try {
          await c.workflowService.registerNamespace({
            namespace,
            workflowExecutionRetentionPeriod: msToTs(RETENTION),
            description: 'pipewright',
          });
        } catch (err) {
          // 6 = ALREADY_EXISTS: a home whose database has it since an earlier start.
          if ((err as { code?: number }).code !== 6) throw err;
        }
        await c.workflowService.describeNamespace({ namespace });
        return true;
      });
    },
    500,
  );
  await waitFor(
    `pipewright's search attributes on namespace ${namespace}`,
    120_000,
    async () => {
      if (exited()) throw new GiveUp('the Temporal server exited');
      return withConnection(address, async (c) => {
        const existing = await c.operatorService.listSearchAttributes({ namespace });
        const missing = SEARCH_ATTRIBUTES.filter((sa) => !(sa.name in (existing.customAttributes ?? {})));
        if (missing.length > 0) {
          // 2 = INDEXED_VALUE_TYPE_KEYWORD
          await c.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((sa) => [sa.name, 2])) });
        }
        const query = SEARCH_ATTRIBUTES.map((sa) => `${sa.name} = 'pipewright-probe'`).join(' OR ');
        await c.workflowService.countWorkflowExecutions({ namespace, query });
        return true;
      });
    },
    500,
  );
}

/** Starts the Web UI server on PIPEWRIGHT_TEMPORAL_UI_PORT, pointed at the frontend; resolves once it answers. */
async function startUiServer(binary: string, config: PipewrightConfig, frontend: string, logDir: string): Promise<ManagedProcess> {
  const root = path.join(clusterDir(config.home), 'ui');
  mkdirSync(path.join(root, 'config'), { recursive: true });
  const uiConfig = {
    temporalGrpcAddress: frontend,
    host: '127.0.0.1',
    port: config.temporalUiPort,
    enableUi: true,
    defaultNamespace: config.temporalNamespace,
    hideLogs: true,
    cors: { cookieInsecure: true, allowOrigins: [`http://localhost:${config.temporalUiPort}`, `http://127.0.0.1:${config.temporalUiPort}`] },
    // With encrypted payloads, the UI decodes them through the stack's codec server.
    ...(config.payloadKeys ? { codec: { endpoint: codecUrl(config) } } : {}),
  };
  writeFileSync(path.join(root, 'config', `${CONFIG_ENV}.yaml`), toYaml(uiConfig));
  const ui = startProcess('temporal-ui', binary, ['--root', root, '--config', 'config', '--env', CONFIG_ENV, 'start'], childEnvironment(), logDir);
  const url = `http://127.0.0.1:${config.temporalUiPort}`;
  try {
    await waitFor(`the Temporal Web UI at ${url}`, 60_000, async () => {
      if (ui.child.exitCode !== null) throw new GiveUp(`it exited with code ${ui.child.exitCode}; see ${ui.logFile}`);
      const res = await fetch(`${url}/api/v1/settings`);
      return res.ok ? true : undefined;
    });
  } catch (err) {
    await ui.stop('SIGKILL');
    throw err;
  }
  return ui;
}
