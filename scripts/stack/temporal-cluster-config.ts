import { isIPv4 } from 'node:net';

/**
 * The configuration `pipewright up --cluster` writes for the full Temporal server: its YAML file
 * (development-postgres12.yaml's shape) and its dynamic config. Pure functions, so the ports and
 * the text can be unit-tested without a server.
 */

/** The server release pipewright builds and configures (its schema tool is the same release). */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

/** Databases on the project's PostgreSQL server that hold the cluster's history and its visibility records. */
export const TEMPORAL_DATABASES = { default: 'temporal', visibility: 'temporal_visibility' } as const;

/**
 * History shards. Fixed when the `temporal` database is first set up: the server refuses to start
 * on a database made with another count, so this may never change for an existing home.
 */
export const NUM_HISTORY_SHARDS = 4;

/** How many ports one cluster takes, from its frontend port up: two stacks need frontend ports this far apart. */
export const CLUSTER_PORT_SPAN = 10;

/** Every port the cluster listens on, all derived from the frontend's (PIPEWRIGHT_TEMPORAL_PORT). */
export interface ClusterPorts {
  frontend: number;
  history: number;
  matching: number;
  worker: number;
  /** The frontend's HTTP API (Nexus callbacks, `/api/v1/...`). */
  frontendHttp: number;
  /** Ringpop membership, one per service. */
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
  /** Prometheus metrics of the whole server. */
  metrics: number;
}

/** P, P+1, ... P+9 for frontend port P; throws when the block would run past 65535. */
const MAX_MEMBERSHIP_PORT = 32767;

export function clusterPorts(frontendPort: number): ClusterPorts {
  if (!Number.isInteger(frontendPort) || frontendPort < 1 || frontendPort + CLUSTER_PORT_SPAN - 1 > 65535) {
    throw new Error(
      `PIPEWRIGHT_TEMPORAL_PORT=${frontendPort} leaves no room for the cluster's ${CLUSTER_PORT_SPAN} ports (${frontendPort}..${frontendPort + CLUSTER_PORT_SPAN - 1}); pick a lower port.`,
    );
  }
  // Temporal's SQL schema keeps membership ports in a smallint (cluster_membership.rpc_port): a
  // port above 32767 makes the server fail its first membership heartbeat and exit.
  if (frontendPort + 8 > MAX_MEMBERSHIP_PORT) {
    throw new Error(
      `PIPEWRIGHT_TEMPORAL_PORT=${frontendPort} puts the cluster's membership ports at ${frontendPort + 5}..${frontendPort + 8}, above ${MAX_MEMBERSHIP_PORT}, ` +
        `which Temporal's SQL schema cannot store (cluster_membership.rpc_port is a smallint); pick a port of ${MAX_MEMBERSHIP_PORT - 8} or less.`,
    );
  }
  const p = frontendPort;
  return {
    frontend: p,
    history: p + 1,
    matching: p + 2,
    worker: p + 3,
    frontendHttp: p + 4,
    frontendMembership: p + 5,
    historyMembership: p + 6,
    matchingMembership: p + 7,
    workerMembership: p + 8,
    metrics: p + 9,
  };
}

/** Where the services listen and how they name themselves, for PIPEWRIGHT_BIND_HOST. */
export interface ClusterAddresses {
  /** The frontend's listen IP: PIPEWRIGHT_BIND_HOST. */
  frontendBind: string;
  /** History, matching and worker: loopback when the frontend listens on every interface, else the same IP. */
  servicesBind: string;
  /** What each service announces to the others (ringpop's broadcastAddress). */
  broadcast: string;
  /** The frontend's IP for clients on this machine: stack.json, the pools, the Web UI server. */
  local: string;
}

/**
 * 127.0.0.1 (the default): everything on loopback. 0.0.0.0: the frontend on every interface, so pools
 * on other machines reach it, the other services still on loopback. Another IP: every service on it.
 */
export function clusterAddresses(host: string): ClusterAddresses {
  if (!isIPv4(host)) throw new Error(`PIPEWRIGHT_BIND_HOST=${host} is not an IPv4 address; use 127.0.0.1 (default), 0.0.0.0, or one of this machine's IPs.`);
  if (host === '0.0.0.0') return { frontendBind: host, servicesBind: '127.0.0.1', broadcast: '127.0.0.1', local: '127.0.0.1' };
  return { frontendBind: host, servicesBind: host, broadcast: host, local: host };
}

/** A PostgreSQL server as the Temporal server and its schema tool want it: parts, not a URL. */
export interface SqlEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  /** From the URL's sslmode: require (TLS, no host check), verify-ca / verify-full (TLS, checked); sslrootcert becomes the CA file. */
  tls?: { enableHostVerification: boolean; caFile?: string };
}

/** The server of a `postgres://` URL (its database name is not used: the cluster has databases of its own). */
export function sqlEndpoint(databaseUrl: string): SqlEndpoint {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error(`DATABASE_URL is not a URL (postgres://user:password@host:port/database); the Temporal cluster cannot use it.`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new Error(`DATABASE_URL must be a postgres:// URL for the Temporal cluster, got ${url.protocol}//...`);
  const sslmode = url.searchParams.get('sslmode') ?? (url.searchParams.get('ssl') === 'true' ? 'require' : 'disable');
  const tls = ['require', 'verify-ca', 'verify-full'].includes(sslmode)
    ? {
        enableHostVerification: sslmode !== 'require',
        ...(url.searchParams.get('sslrootcert') ? { caFile: url.searchParams.get('sslrootcert')! } : {}),
      }
    : undefined;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
    ...(tls ? { tls } : {}),
  };
}

/** Arguments that point `temporal-sql-tool` at one of the cluster's databases. */
export function sqlToolArgs(db: SqlEndpoint, database: string): string[] {
  return [
    '--plugin',
    'postgres12',
    '--ep',
    db.host,
    '-p',
    String(db.port),
    '-u',
    db.user,
    '--pw',
    db.password,
    '--db',
    database,
    ...(db.tls
      ? ['--tls', ...(db.tls.enableHostVerification ? [] : ['--tls-disable-host-verification']), ...(db.tls.caFile ? ['--tls-ca-file', db.tls.caFile] : [])]
      : []),
  ];
}

export interface ClusterConfigOptions {
  ports: ClusterPorts;
  /** clusterAddresses(PIPEWRIGHT_BIND_HOST); default all loopback. */
  addresses?: ClusterAddresses;
  db: SqlEndpoint;
  /** Absolute path of the dynamic config file. */
  dynamicConfigFile: string;
  /** The server's log level (its JSON lines go to PIPEWRIGHT_HOME/logs/temporal.log). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/** The server's static configuration (the file `server --config ... start` reads), as an object. */
export function clusterServerConfig({
  ports,
  addresses = clusterAddresses('127.0.0.1'),
  db,
  dynamicConfigFile,
  logLevel = 'warn',
}: ClusterConfigOptions): Record<string, Yaml> {
  const { frontendBind, servicesBind, broadcast, local } = addresses;
  const datastore = (databaseName: string, maxConns: number): Yaml => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${db.host.includes(':') ? `[${db.host}]` : db.host}:${db.port}`,
      connectProtocol: 'tcp',
      user: db.user,
      password: db.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
      ...(db.tls ? { tls: { enabled: true, enableHostVerification: db.tls.enableHostVerification, ...(db.tls.caFile ? { caFile: db.tls.caFile } : {}) } } : {}),
    },
  });
  const service = (bindOnIP: string, grpcPort: number, membershipPort: number, httpPort?: number): Yaml => ({
    rpc: { grpcPort, membershipPort, bindOnIP, ...(httpPort ? { httpPort } : {}) },
  });
  return {
    log: { stdout: true, level: logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: {
        'postgres-default': datastore(TEMPORAL_DATABASES.default, 20),
        'postgres-visibility': datastore(TEMPORAL_DATABASES.visibility, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: broadcast },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${servicesBind}:${ports.metrics}` } },
    },
    services: {
      frontend: service(frontendBind, ports.frontend, ports.frontendMembership, ports.frontendHttp),
      history: service(servicesBind, ports.history, ports.historyMembership),
      matching: service(servicesBind, ports.matching, ports.matchingMembership),
      worker: service(servicesBind, ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${local}:${ports.frontend}`,
          httpAddress: `${local}:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: `${local}:${ports.frontend}` },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Dynamic config: what pipewright's dev server gets from `--dynamic-config-value`, and the dev server's own defaults that matter here. */
export function clusterDynamicConfig(ports: ClusterPorts, addresses: ClusterAddresses = clusterAddresses('127.0.0.1')): Record<string, Yaml> {
  const one = (value: Yaml): Yaml => [{ value, constraints: {} }];
  return {
    // One partition per task queue, as for the dev server (temporal-server.ts): with four, a poll can
    // wait on an empty partition while a task sits in another. One machine's pools need no more.
    'matching.numTaskqueueReadPartitions': one(1),
    'matching.numTaskqueueWritePartitions': one(1),
    // Workflow updates (on by default in this release; said here so a later default cannot take them away).
    'frontend.enableUpdateWorkflowExecution': one(true),
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted': one(true),
    // `pipewright runs` and the Web UI list runs through visibility; the default of 10 per second throttles them.
    'frontend.namespaceRPS.visibility': one(100),
    // A pool host cut off the network leaves its long polls open on the frontend until the server
    // finds the connection dead, and a task matched to one of them meanwhile is lost until its
    // activity times out (ingest tasks were, in the multi-host set-up). Pinging a client that has
    // sent nothing for 10 s (default 1 min) dropped a cut-off host's connections 12-15 s after the
    // cut, against 22-25 s with the default.
    'frontend.keepAliveTime': one('10s'),
    'limit.maxIDLength': one(255),
    'component.nexusoperations.callback.endpoint.template': one(`http://${addresses.local}:${ports.frontendHttp}/namespaces/{{.NamespaceName}}/nexus/callback`),
    'component.callbacks.allowedAddresses': one([{ Pattern: `${addresses.local}:${ports.frontendHttp}`, AllowInsecure: true }]),
  };
}

/**
 * YAML text of a value of maps, lists, strings, numbers and booleans. Every string is written
 * double-quoted with JSON's escapes (valid YAML), so a password or a template is never misread.
 */
export function toYaml(value: Yaml, indent = 0): string {
  const pad = ' '.repeat(indent);
  const scalar = (v: string | number | boolean): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const isEmpty = (v: Yaml): boolean => (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);
  const inline = (v: Yaml): string | undefined => {
    if (typeof v !== 'object') return scalar(v);
    if (isEmpty(v)) return Array.isArray(v) ? '[]' : '{}';
    return undefined;
  };
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        const flat = inline(item);
        if (flat !== undefined) return `${pad}- ${flat}\n`;
        // The first line of a nested block goes after the dash, the rest keep its indentation.
        const block = toYaml(item, indent + 2);
        return `${pad}- ${block.slice(indent + 2)}`;
      })
      .join('');
  }
  if (typeof value !== 'object') return `${pad}${scalar(value)}\n`;
  return Object.entries(value)
    .map(([key, item]) => {
      const name = /^[A-Za-z_][\w.-]*$/.test(key) ? key : JSON.stringify(key);
      const flat = inline(item);
      return flat !== undefined ? `${pad}${name}: ${flat}\n` : `${pad}${name}:\n${toYaml(item, indent + 2)}`;
    })
    .join('');
}
