import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { PipewrightConfig } from '../../lib/config';
import { poolIdentity, taskQueue, type Pool } from '../../workers/task-queues';
import { startProcess, waitFor, type ManagedProcess } from './child-process';
import { startPostgres, type PostgresEndpoint } from './postgres';
import { startTemporal, type TemporalEndpoint } from './temporal-server';

/** What a running stack publishes in PIPEWRIGHT_HOME/stack.json so other commands can find it. */
export interface StackInfo {
  pid: number;
  temporalAddress: string;
  namespace: string;
  uiUrl: string | null;
  databaseUrl: string;
  serveUrl: string | null;
  startedAt: string;
}

export interface Stack {
  info: StackInfo;
  temporal: TemporalEndpoint;
  postgres: PostgresEndpoint;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

export interface StackOptions {
  pools: readonly Pool[];
  modelServer: boolean;
  log: (line: string) => void;
}

const stackFile = (home: string): string => path.join(home, 'stack.json');

/**
 * Brings up everything one machine needs: Temporal (or TEMPORAL_ADDRESS), PostgreSQL (or
 * DATABASE_URL), one process per worker pool, and the model server; returns once each answers.
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
  let postgres: PostgresEndpoint | undefined;
  let temporalEndpoint: TemporalEndpoint | undefined;
  let published = false;
  const stop = async (): Promise<void> => {
    await Promise.all([...processes].reverse().map((p) => p.stop()));
    await temporalEndpoint?.process?.stop();
    await postgres?.stop();
    // Only the stack that wrote stack.json removes it.
    if (published) await fs.rm(stackFile(config.home), { force: true });
  };
  try {
    const [pgResult, temporalResult] = await Promise.allSettled([startPostgres(config, options.log), startTemporal(config, options.log)]);
    // Keep whichever came up so stop() takes it down again when the other failed.
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    if (temporalResult.status === 'fulfilled') temporalEndpoint = temporalResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (temporalResult.status === 'rejected') throw temporalResult.reason;
    if (!postgres || !temporalEndpoint) throw new Error('unreachable: both services reported success without endpoints');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: temporalEndpoint.address,
      TEMPORAL_NAMESPACE: temporalEndpoint.namespace,
      DATABASE_URL: postgres.url,
      PIPEWRIGHT_HOME: config.home,
      PIPEWRIGHT_SERVE_URL: config.serveUrl,
    };
    const distRoot = path.join(__dirname, '..', '..');
    for (const pool of options.pools) {
      processes.push(startProcess(`pool-${pool}`, process.execPath, [path.join(distRoot, 'workers', `${pool}.js`)], env, logDir));
    }
    if (options.modelServer) {
      processes.push(startProcess('model-server', process.execPath, [path.join(distRoot, 'scripts', 'model-server.js')], env, logDir));
    }
    const connection = await Connection.connect({ address: temporalEndpoint.address });
    try {
      await Promise.all([
        ...options.pools.map((pool) => waitForPoolPoller(connection, temporalEndpoint!.namespace, pool, processes.find((p) => p.name === `pool-${pool}`)!)),
        ...(options.modelServer ? [waitForModelServer(config.serveUrl, processes.find((p) => p.name === 'model-server')!)] : []),
      ]);
    } finally {
      await connection.close();
    }
    const info: StackInfo = {
      pid: process.pid,
      temporalAddress: temporalEndpoint.address,
      namespace: temporalEndpoint.namespace,
      uiUrl: temporalEndpoint.uiUrl ?? null,
      databaseUrl: postgres.url,
      serveUrl: options.modelServer ? config.serveUrl : null,
      startedAt: new Date().toISOString(),
    };
    await fs.writeFile(stackFile(config.home), JSON.stringify(info, null, 2));
    published = true;
    return { info, temporal: temporalEndpoint, postgres, processes, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
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
  pool: Pool,
  proc: ManagedProcess,
  queuePrefix?: string,
): Promise<void> {
  const queue = taskQueue(pool, queuePrefix);
  const identity = poolIdentity(pool, os.hostname(), proc.child.pid!);
  const taskQueueType =
    pool === 'orchestrator' ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
  await waitFor(`the ${pool} pool (${identity}) to poll ${queue}`, 120_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`the ${pool} pool exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    const res = await temporalService.workflowService.describeTaskQueue({ namespace, taskQueue: { name: queue }, taskQueueType });
    return (res.pollers ?? []).some((p) => p.identity === identity) ? true : undefined;
  }, 300);
}

async function waitForModelServer(serveUrl: string, proc: ManagedProcess): Promise<void> {
  await waitFor(`the model server at ${serveUrl}`, 120_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`the model server exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    const res = await fetch(`${serveUrl}/healthz`);
    return res.ok ? true : undefined;
  });
}
