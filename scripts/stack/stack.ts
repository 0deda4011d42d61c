import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { childEnvironment, type PipewrightConfig } from '../../lib/config';
import { taskQueue, workerIdentity, type WorkerPool } from '../../contracts';
import { GiveUp, startProcess, waitFor, type ManagedProcess } from './child-process';
import { startObjectStore, type ObjectStoreEndpoint } from './object-store';
import { startPostgres, type PostgresEndpoint } from './postgres';
import { SupervisedService, type ServiceInstance } from './supervisor';
import { startTemporal, type TemporalEndpoint } from './temporal-server';
import { codecUrl } from './codec-endpoint';
import { temporalSecurity } from '../../lib/connection/temporal-security';

/** What a running stack publishes in PIPEWRIGHT_HOME/stack.json so other commands can find it. */
export interface StackInfo {
  pid: number;
  temporalAddress: string;
  namespace: string;
  uiUrl: string | null;
  databaseUrl: string;
  serveUrl: string | null;
  /** Prefix of the pools' task queues. */
  queuePrefix: string;
  /** Process id of each service the stack runs (pool-cpu, model-server, temporal, postgres, ...), kept current across restarts. */
  processes: Record<string, number | null>;
  /** The codec server that decodes encrypted payloads for the Web UI and the temporal CLI, when payload keys are set. */
  codecUrl?: string;
  /** The embedded S3 server's endpoint, when the stack runs one for an s3:// artifact store (commands read artifacts through it). */
  s3Endpoint?: string;
  /** Prometheus endpoints: the model server's and each pool process's Temporal worker metrics. */
  metrics?: Record<string, string>;
  startedAt: string;
}

export interface Stack {
  info: StackInfo;
  temporal: TemporalEndpoint;
  postgres: PostgresEndpoint;
  stop(): Promise<void>;
}

export interface StackOptions {
  pools: readonly WorkerPool[];
  modelServer: boolean;
  log: (line: string) => void;
}

const stackFile = (home: string): string => path.join(home, 'stack.json');

/**
 * Brings up everything one machine needs: Temporal (or TEMPORAL_ADDRESS), PostgreSQL (or
 * DATABASE_URL), one process per worker pool, and the model server; returns once each answers.
 * From then on it supervises what it started: a service that dies is logged with its exit code
 * and restarted with backoff (see supervisor.ts), and stack.json follows the new process ids.
 */
export async function startStack(config: PipewrightConfig, options: StackOptions): Promise<Stack> {
  await fs.mkdir(config.home, { recursive: true });
  const running = await findRunningStack(config);
  if (running) {
    throw new Error(
      `a pipewright stack (pid ${running.pid}) is already running for PIPEWRIGHT_HOME=${config.home}; use it (run, status and demo find it), ` +
        `stop it with Ctrl-C, or pick another PIPEWRIGHT_HOME (if pid ${running.pid} is not pipewright, delete ${stackFile(config.home)}).`,
    );
  }
  const logDir = path.join(config.home, 'logs');
  const processes: ManagedProcess[] = [];
  const services = new Map<string, SupervisedService>();
  let postgres: PostgresEndpoint | undefined;
  let objectStore: ObjectStoreEndpoint | undefined;
  let temporalEndpoint: TemporalEndpoint | undefined;
  let info: StackInfo | undefined;
  const stop = async (): Promise<void> => {
    // Unpublish first: a stack that is stopping must not be found, even if something below hangs.
    if (info) await fs.rm(stackFile(config.home), { force: true });
    info = undefined;
    for (const service of services.values()) service.retire();
    // Once up, a service is stopped through its supervisor (which stops restarting it); before, as started.
    const current = (name: string, started: ServiceInstance | undefined): { stop(): Promise<void> } | undefined => services.get(name) ?? started;
    await Promise.all(processes.map((p) => current(p.name, p)!.stop()));
    await current('temporal', temporalEndpoint?.embedded?.instance)?.stop();
    await current('postgres', postgres?.embedded?.instance)?.stop();
    await current('s3', objectStore?.embedded.instance)?.stop();
  };
  try {
    // An s3:// artifact store without PIPEWRIGHT_S3_ENDPOINT gets the embedded S3 server (seconds to start).
    objectStore = await startObjectStore(config, options.log);
    // The full Temporal cluster (up --cluster) runs on this PostgreSQL: it gets the endpoint when it is up.
    const postgresStarting = startPostgres(config, options.log);
    const [pgResult, temporalResult] = await Promise.allSettled([postgresStarting, startTemporal(config, options.log, postgresStarting)]);
    // Keep whichever came up so stop() takes it down again when the other failed.
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    if (temporalResult.status === 'fulfilled') temporalEndpoint = temporalResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (temporalResult.status === 'rejected') throw temporalResult.reason;
    if (!postgres || !temporalEndpoint) throw new Error('unreachable: both services reported success without endpoints');
    const env = childEnvironment({
      TEMPORAL_ADDRESS: temporalEndpoint.address,
      TEMPORAL_NAMESPACE: temporalEndpoint.namespace,
      DATABASE_URL: postgres.url,
      PIPEWRIGHT_HOME: config.home,
      PIPEWRIGHT_SERVE_URL: config.serveUrl,
      // The stack's own settings, which may come from a config built in code (benchmarks) rather than this environment.
      PIPEWRIGHT_SERVE_PORT: String(config.servePort),
      PIPEWRIGHT_SERVE_HOST: config.serveHost,
      PIPEWRIGHT_CODEC_PORT: String(config.codec.port),
      PIPEWRIGHT_QUEUE_PREFIX: config.queuePrefix,
      ...objectStore?.env,
    });
    const distRoot = path.join(__dirname, '..', '..');
    const launchers = new Map<string, () => ManagedProcess>();
    // One process per pool, except the gpu pool: one per PIPEWRIGHT_GPU_WORKERS, so data-parallel
    // training rounds run side by side (pool-gpu, pool-gpu-2, ...).
    const poolProcesses = options.pools.flatMap((pool) =>
      Array.from({ length: pool === 'gpu' ? config.gpuProcesses : 1 }, (_, i) => ({ pool, name: i === 0 ? `pool-${pool}` : `pool-${pool}-${i + 1}` })),
    );
    // Each pool process exports the SDK's worker metrics on its own port, next to the model server's.
    const metricsPorts = new Map(poolProcesses.map(({ name }, i) => [name, workerMetricsPort(config, i)]));
    for (const { pool, name } of poolProcesses) {
      const poolEnv = { ...env, PIPEWRIGHT_WORKER_METRICS_PORT: String(metricsPorts.get(name)) };
      launchers.set(name, () => startProcess(name, process.execPath, [path.join(distRoot, 'workers', `${pool}.js`)], poolEnv, logDir));
    }
    if (options.modelServer) {
      launchers.set('model-server', () => startProcess('model-server', process.execPath, [path.join(distRoot, 'scripts', 'model-server.js')], env, logDir));
    }
    // Encrypted payloads: the Web UI and `temporal workflow show --codec-endpoint` decode through it.
    if (config.payloadKeys) {
      launchers.set('codec-server', () => startProcess('codec-server', process.execPath, [path.join(distRoot, 'scripts', 'codec-server.js')], env, logDir));
    }
    for (const launch of launchers.values()) processes.push(launch());
    const byName = (name: string): ManagedProcess => processes.find((p) => p.name === name)!;
    // TLS or an API key apply to a TEMPORAL_ADDRESS cluster; the embedded servers refuse them (temporal-server.ts).
    const connection = await Connection.connect({ address: temporalEndpoint.address, ...temporalSecurity(config.temporalAuth) });
    try {
      await Promise.all([
        ...poolProcesses.map(({ pool, name }) => waitForPoolPoller(connection, temporalEndpoint!.namespace, pool, byName(name), config.queuePrefix)),
        ...(options.modelServer ? [waitForModelServer(config.serveUrl, byName('model-server'))] : []),
        ...(config.payloadKeys ? [waitForCodecServer(codecUrl(config), byName('codec-server'))] : []),
      ]);
    } finally {
      await connection.close();
    }

    // Up: from here on, whatever dies is restarted.
    const publish = async (): Promise<void> => {
      if (!info) return;
      info.processes = Object.fromEntries([...services].map(([name, s]) => [name, s.pid ?? null]));
      const file = stackFile(config.home);
      await fs.writeFile(`${file}.tmp`, JSON.stringify(info, null, 2));
      await fs.rename(`${file}.tmp`, file);
    };
    const supervise = (name: string, first: ServiceInstance, restart: () => Promise<ServiceInstance>, logFile: string | undefined): void => {
      // Embedded PostgreSQL has no log file of its own: its errors are the [postgres] lines in this output.
      const hint = `${logFile ? `See ${logFile}` : 'See the lines above'}, fix the cause, then restart \`pipewright up\`.`;
      services.set(name, new SupervisedService(name, first, restart, options.log, { onRestarted: () => void publish().catch(() => undefined), hint }));
    };
    if (postgres.embedded) supervise('postgres', postgres.embedded.instance, postgres.embedded.restart, postgres.embedded.logFile);
    if (temporalEndpoint.embedded)
      supervise('temporal', temporalEndpoint.embedded.instance, temporalEndpoint.embedded.restart, temporalEndpoint.embedded.logFile);
    if (objectStore) supervise('s3', objectStore.embedded.instance, objectStore.embedded.restart, objectStore.embedded.logFile);
    for (const proc of processes) supervise(proc.name, proc, async () => launchers.get(proc.name)!(), proc.logFile);

    info = {
      pid: process.pid,
      temporalAddress: temporalEndpoint.address,
      namespace: temporalEndpoint.namespace,
      uiUrl: temporalEndpoint.uiUrl ?? null,
      databaseUrl: postgres.url,
      serveUrl: options.modelServer ? config.serveUrl : null,
      queuePrefix: config.queuePrefix,
      ...(objectStore ? { s3Endpoint: objectStore.endpoint } : {}),
      ...(config.payloadKeys ? { codecUrl: codecUrl(config) } : {}),
      processes: {},
      metrics: {
        ...(options.modelServer ? { 'model-server': `${config.serveUrl}/metrics` } : {}),
        ...Object.fromEntries([...metricsPorts].map(([name, port]) => [name, `http://127.0.0.1:${port}/metrics`])),
      },
      startedAt: new Date().toISOString(),
    };
    await publish();
    return { info, temporal: temporalEndpoint, postgres, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The metrics port of the i-th pool process: PIPEWRIGHT_WORKER_METRICS_PORT + i when set, else the
 * model server's port + 50 + i, so that stacks whose ports are shifted by hundreds (tests,
 * benchmarks) do not collide.
 */
function workerMetricsPort(config: PipewrightConfig, i: number): number {
  return (config.workerMetricsPort ?? config.servePort + 50) + i;
}

/** The stack another `pipewright up` is running for this PIPEWRIGHT_HOME, if it is alive. */
export async function findRunningStack(config: PipewrightConfig): Promise<StackInfo | undefined> {
  let info: StackInfo;
  try {
    info = JSON.parse(await fs.readFile(stackFile(config.home), 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined; // stale file from a stack that died
  }
  return info;
}

/**
 * Waits until the pool process `proc` itself polls its task queue. Any poller would not do: the
 * server lists a queue's pollers for a while after they are gone, so a previous stack's (or a
 * killed) worker would pass for this one.
 */
export async function waitForPoolPoller(
  temporalService: Pick<Connection, 'workflowService'>,
  namespace: string,
  pool: WorkerPool,
  proc: ManagedProcess,
  queuePrefix?: string,
): Promise<void> {
  const queue = taskQueue(pool, queuePrefix);
  const identity = workerIdentity(pool, os.hostname(), proc.child.pid!);
  const taskQueueType =
    pool === 'orchestrator' ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
  await waitFor(
    `the ${pool} pool (${identity}) to poll ${queue}`,
    120_000,
    async () => {
      if (proc.child.exitCode !== null) throw new GiveUp(`the ${pool} pool exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
      const res = await temporalService.workflowService.describeTaskQueue({ namespace, taskQueue: { name: queue }, taskQueueType });
      return (res.pollers ?? []).some((p) => p.identity === identity) ? true : undefined;
    },
    300,
  );
}

async function waitForCodecServer(url: string, proc: ManagedProcess): Promise<void> {
  await waitFor(`the codec server at ${url}`, 60_000, async () => {
    if (proc.child.exitCode !== null) throw new GiveUp(`the codec server exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    const res = await fetch(`${url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":[]}' });
    return res.ok ? true : undefined;
  });
}

async function waitForModelServer(serveUrl: string, proc: ManagedProcess): Promise<void> {
  await waitFor(`the model server at ${serveUrl}`, 120_000, async () => {
    if (proc.child.exitCode !== null) throw new GiveUp(`the model server exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    const res = await fetch(`${serveUrl}/healthz`);
    return res.ok ? true : undefined;
  });
}
