/**
 * pipewright on several hosts made on this machine (network-hosts.ts), for the multi-host test and
 * benchmark: a `services` host runs `pipewright up --cluster --pools none` (the full Temporal
 * server, PostgreSQL, the embedded S3 server, the model server and the codec server) listening on
 * its own address (PIPEWRIGHT_BIND_HOST), and pool hosts run the five pool processes against it,
 * each with a home and an artifact cache of its own.
 *
 * Nothing here talks to the test network from this process's namespace (it has no route there):
 * every client call runs inside a host's namespace, as a `pipewright` command, the `temporal` CLI
 * or a small node script.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKER_POOLS, taskQueue, workerIdentity, type WorkerPool } from '../../contracts';
import { generatePayloadKey } from '../../lib/codec/payload-keys';
import { loadConfig } from '../../lib/config';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { EMBEDDED_S3_CREDENTIALS } from '../../scripts/stack/object-store';
import { GiveUp, waitFor } from '../../scripts/stack/child-process';
import type { StackInfo } from '../../scripts/stack/stack';
import { findTemporalCli } from '../../scripts/stack/temporal-cli';
import { createNetwork, type VirtualHost, type VirtualNetwork } from './network-hosts';

const ROOT = path.join(__dirname, '..', '..');
/** The built CLI and pools (tests and benchmarks run `npm run build` first). */
const DIST = ROOT.endsWith(`${path.sep}dist`) ? ROOT : path.join(ROOT, 'dist');
const CLI = path.join(DIST, 'scripts', 'cli.js');
const PG_MODULE = require.resolve('pg');

export interface MultiHostOptions {
  /** Folder for every home, log and spec file; the caller makes and removes it. */
  dir: string;
  /** Keeps this run's namespace and interface names apart from another's. */
  tag: string;
  /** The test network is 10.<octet>.0.0/24. */
  octet: number;
  /** Names of the pool hosts, after `services`. */
  poolHosts: string[];
  /** The services host's ports (the cluster takes temporal .. temporal + 9). */
  ports: { temporal: number; ui: number; postgres: number; serve: number; s3: number };
  /** The flights table loaded on the services host, and its rows. */
  table: string;
  rows: number;
  log?: (line: string) => void;
}

/** One pool process on a host. */
export interface PoolProcess {
  pool: WorkerPool;
  host: string;
  child: ChildProcess;
  pid: number;
  /** Its worker identity, as the Temporal server records it on the activities it starts. */
  identity: string;
  logFile: string;
}

/** A `pipewright run` in flight on the services host. */
export interface RunInFlight {
  /** The run's workflow id, once the CLI printed it. */
  workflowId: Promise<string>;
  /** The CLI's exit code once the run is over (0: completed). */
  exited: Promise<number | null>;
  logFile: string;
}

/** What `temporal workflow describe -o json` says about a pending activity. */
export interface PendingActivity {
  activityId: string;
  activityType?: { name?: string };
  state?: string;
  attempt?: number;
  lastWorkerIdentity?: string;
}

/** The parts of `temporal workflow describe -o json` the test and the benchmark read. */
export interface WorkflowDescription {
  workflowExecutionInfo?: { status?: string; startTime?: string; closeTime?: string };
  pendingActivities?: PendingActivity[];
}

interface Tracked {
  name: string;
  child: ChildProcess;
  logFile: string;
}

const STRIPPED = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'DATABASE_URL',
  'PIPEWRIGHT_HOME',
  'PIPEWRIGHT_SERVE_URL',
  'PIPEWRIGHT_SERVE_HOST',
  'PIPEWRIGHT_TEMPORAL_CLUSTER',
  'PIPEWRIGHT_TEMPORAL_UI_URL',
  'PIPEWRIGHT_S3_ENDPOINT',
  'PIPEWRIGHT_ARTIFACT_CACHE',
  'PIPEWRIGHT_WORKER_METRICS_PORT',
  'PIPEWRIGHT_PAYLOAD_KEY_FILE',
  'PIPEWRIGHT_BIND_HOST',
  'PIPEWRIGHT_CODEC_PORT',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];

export class MultiHostStack {
  readonly network: VirtualNetwork;
  readonly services: VirtualHost;
  readonly hosts: Map<string, VirtualHost>;
  /** The services host's stack.json, once `up` is up. */
  info!: StackInfo;
  readonly pools: PoolProcess[] = [];
  private readonly tracked: Tracked[] = [];
  private readonly keys = generatePayloadKey();
  private readonly temporalCli: string;
  private runs = 0;
  private up: Tracked | undefined;

  private constructor(readonly options: MultiHostOptions) {
    const cli = findTemporalCli(loadConfig());
    if (!cli) throw new Error('the multi-host stack reads workflows with the temporal CLI; run `node dist/scripts/ensure-temporal-cli.js` first');
    this.temporalCli = cli;
    mkdirSync(path.join(options.dir, 'logs'), { recursive: true });
    this.network = createNetwork(['services', ...options.poolHosts], { tag: options.tag, octet: options.octet });
    this.services = this.network.hosts[0]!;
    this.hosts = new Map(this.network.hosts.map((h) => [h.name, h]));
  }

  /**
   * Makes the hosts (at once, so that the caller holds something to close() whatever happens
   * next); start() then brings the services host up.
   */
  static create(options: MultiHostOptions): MultiHostStack {
    return new MultiHostStack(options);
  }

  /** Starts the services host and loads the flights table there. */
  async start(): Promise<this> {
    await this.startServices();
    await this.loadTable();
    return this;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private home(host: string): string {
    return path.join(this.options.dir, host);
  }

  /** This process's environment without anything that points at another stack, plus what every host shares. */
  private baseEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of STRIPPED) delete env[name];
    return { ...env, PIPEWRIGHT_PAYLOAD_KEYS: this.keys, PIPEWRIGHT_ARTIFACT_STORE: 's3://pipewright', PIPEWRIGHT_LOG_LEVEL: 'info' };
  }

  /** The environment of a command run on the services host: its home has stack.json, which points at the stack. */
  clientEnv(): NodeJS.ProcessEnv {
    return { ...this.baseEnv(), PIPEWRIGHT_HOME: this.home('services') };
  }

  /** The environment of a pool on `host`: the services host's addresses, and a home (and cache) of its own. */
  poolEnv(host: string): NodeJS.ProcessEnv {
    const info = this.info;
    return {
      ...this.baseEnv(),
      PIPEWRIGHT_HOME: this.home(host),
      TEMPORAL_ADDRESS: info.temporalAddress,
      TEMPORAL_NAMESPACE: info.namespace,
      DATABASE_URL: info.databaseUrl,
      PIPEWRIGHT_SERVE_URL: info.serveUrl ?? '',
      PIPEWRIGHT_QUEUE_PREFIX: info.queuePrefix,
      PIPEWRIGHT_S3_ENDPOINT: info.s3Endpoint ?? '',
      AWS_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    };
  }

  /** Starts `command` on `host` with its output in `<dir>/logs/<name>.log`. */
  private spawnOn(host: VirtualHost, name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Tracked {
    const logFile = path.join(this.options.dir, 'logs', `${name}.log`);
    const out = openSync(logFile, 'a');
    const child = host.spawn(command, args, { env, stdio: ['ignore', out, out] });
    closeSync(out);
    const tracked = { name, child, logFile };
    this.tracked.push(tracked);
    return tracked;
  }

  /** Runs a command on `host` to its end; resolves with its stdout, rejects with its stderr. */
  exec(host: VirtualHost, command: string, args: string[], env: NodeJS.ProcessEnv = this.clientEnv(), timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = host.spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else
          reject(
            new Error(
              `${path.basename(command)} ${args.join(' ')} on ${host.name} ended with ${code ?? signal}: ${stderr.slice(-2000) || stdout.slice(-2000)}`,
            ),
          );
      });
    });
  }

  private async startServices(): Promise<void> {
    const { ports } = this.options;
    const ip = this.services.address;
    const env = {
      ...this.clientEnv(),
      PIPEWRIGHT_BIND_HOST: ip,
      PIPEWRIGHT_SERVE_HOST: ip,
      PIPEWRIGHT_SERVE_URL: `http://${ip}:${ports.serve}`,
      PIPEWRIGHT_TEMPORAL_PORT: String(ports.temporal),
      PIPEWRIGHT_TEMPORAL_UI_PORT: String(ports.ui),
      PIPEWRIGHT_POSTGRES_PORT: String(ports.postgres),
      PIPEWRIGHT_SERVE_PORT: String(ports.serve),
      PIPEWRIGHT_S3_PORT: String(ports.s3),
    };
    mkdirSync(this.home('services'), { recursive: true });
    const stackFile = path.join(this.home('services'), 'stack.json');
    this.log(`services host ${ip}: pipewright up --cluster --pools none`);
    this.up = this.spawnOn(this.services, 'services-up', process.execPath, [CLI, 'up', '--cluster', '--pools', 'none'], env);
    const up = this.up;
    await waitUntil(
      'pipewright up on the services host',
      10 * 60_000,
      async () => {
        if (up.child.exitCode !== null) throw new GiveUp(`it exited with ${up.child.exitCode}`);
        return existsSync(stackFile) ? true : undefined;
      },
      250,
    );
    this.info = JSON.parse(readFileSync(stackFile, 'utf8')) as StackInfo;
  }

  private async loadTable(): Promise<void> {
    const { table, rows } = this.options;
    const out = await this.exec(this.services, process.execPath, [CLI, 'load-flights', '--rows', String(rows), '--table', table], this.clientEnv(), 5 * 60_000);
    this.log(out.trim());
  }

  /** Starts one process per pool on `host` and resolves once each polls its task queue. */
  async startPools(hostName: string, pools: readonly WorkerPool[] = WORKER_POOLS): Promise<PoolProcess[]> {
    const host = this.hosts.get(hostName)!;
    const started = pools.map((pool): PoolProcess => {
      const t = this.spawnOn(host, `${hostName}-${pool}`, process.execPath, [path.join(DIST, 'workers', `${pool}.js`)], this.poolEnv(hostName));
      if (t.child.pid === undefined) throw new Error(`could not start the ${pool} pool on ${hostName}`);
      // `ip netns exec` execs the command, so the pool keeps the pid spawn reported.
      return { pool, host: hostName, child: t.child, pid: t.child.pid, identity: workerIdentity(pool, os.hostname(), t.child.pid), logFile: t.logFile };
    });
    this.pools.push(...started);
    await waitUntil(`the pools on ${hostName} to poll`, 120_000, async () => {
      for (const p of started) if (p.child.exitCode !== null) throw new GiveUp(`the ${p.pool} pool on ${hostName} exited with ${p.child.exitCode}`);
      const polling = await Promise.all(started.map(async (p) => (await this.pollers(p.pool)).includes(p.identity)));
      return polling.every(Boolean) ? true : undefined;
    });
    this.log(`pools on ${hostName} (${host.address}) polling: ${started.map((p) => `${p.pool} pid ${p.pid}`).join(', ')}`);
    return started;
  }

  /** Stops the pools on `host` (SIGTERM: they finish nothing in flight on purpose; the runs are over). */
  async stopPools(hostName: string): Promise<void> {
    const mine = this.pools.filter((p) => p.host === hostName);
    await Promise.all(mine.map((p) => stopChild(p.child, 'SIGTERM', 15_000)));
    for (const p of mine) this.pools.splice(this.pools.indexOf(p), 1);
  }

  /** Identities polling a pool's task queue, from the services host. */
  async pollers(pool: WorkerPool): Promise<string[]> {
    const type = pool === 'orchestrator' ? 'workflow' : 'activity';
    const out = await this.temporal(['task-queue', 'describe', '--task-queue', taskQueue(pool, this.info.queuePrefix), '--task-queue-type', type]);
    return [...out.matchAll(/"identity":\s*"([^"]+)"/g)].map((m) => m[1]!);
  }

  /** The `temporal` CLI on the services host against the cluster, with JSON output and no codec (payloads stay as stored). */
  temporal(args: string[]): Promise<string> {
    return this.exec(
      this.services,
      this.temporalCli,
      [...args, '--address', this.info.temporalAddress, '--namespace', this.info.namespace, '-o', 'json'],
      this.clientEnv(),
    );
  }

  /** `temporal workflow describe` of a run (or its training child), parsed. */
  async describe(workflowId: string): Promise<WorkflowDescription> {
    return JSON.parse(await this.temporal(['workflow', 'describe', '--workflow-id', workflowId])) as WorkflowDescription;
  }

  /** A run's history as the server stores it (`temporal workflow show`, no codec). */
  history(workflowId: string): Promise<string> {
    return this.temporal(['workflow', 'show', '--workflow-id', workflowId]);
  }

  /** Starts `pipewright run <spec> --no-cache` on the services host. */
  run(spec: PipelineSpec): RunInFlight {
    const n = ++this.runs;
    const specFile = path.join(this.options.dir, `spec-${n}.json`);
    writeFileSync(specFile, JSON.stringify(spec, null, 2));
    const t = this.spawnOn(this.services, `run-${n}`, process.execPath, [CLI, 'run', specFile, '--no-cache'], this.clientEnv());
    const exited = new Promise<number | null>((resolve) => t.child.on('exit', (code) => resolve(code)));
    const workflowId = waitUntil(`run ${n} to start`, 120_000, async () => {
      const match = /^Started (\S+)/m.exec(readFileSync(t.logFile, 'utf8'));
      if (match) return match[1]!;
      if (t.child.exitCode !== null) throw new GiveUp(`pipewright run exited with ${t.child.exitCode} before it started the run`);
      return undefined;
    });
    return { workflowId, exited, logFile: t.logFile };
  }

  /** The model version a run registered: its number and the sha256 of the model artifact, read from the registry. */
  async registeredModel(name: string, runId: string): Promise<{ version: number; modelSha256: string }> {
    const script = `
      const { Client } = require(${JSON.stringify(PG_MODULE)});
      (async () => {
        const db = new Client({ connectionString: ${JSON.stringify(this.info.databaseUrl)} });
        await db.connect();
        const { rows } = await db.query('SELECT version, model_sha256 FROM pipewright_model_versions WHERE name = $1 AND run_id = $2', [${JSON.stringify(name)}, ${JSON.stringify(runId)}]);
        await db.end();
        process.stdout.write(JSON.stringify(rows));
      })().catch((err) => { console.error(err); process.exit(1); });`;
    const rows = JSON.parse(await this.exec(this.services, process.execPath, ['-e', script])) as Array<{ version: number; model_sha256: string }>;
    if (rows.length !== 1) throw new Error(`expected one ${name} version registered by ${runId}, found ${rows.length}`);
    return { version: rows[0]!.version, modelSha256: rows[0]!.model_sha256 };
  }

  /** The last lines of every log: this stack's processes and the services host's own (Temporal, S3, model server, ...). */
  logTails(chars = 1500): string {
    const files = this.tracked.map((t) => t.logFile);
    const serviceLogs = path.join(this.home('services'), 'logs');
    if (existsSync(serviceLogs)) files.push(...readdirSync(serviceLogs).map((f) => path.join(serviceLogs, f)));
    return [...new Set(files)]
      .map((file) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          return `--- ${file}: unreadable`;
        }
        return `--- ${path.relative(this.options.dir, file)} (last ${Math.min(chars, text.length)} of ${text.length} chars)\n${text.slice(-chars)}`;
      })
      .join('\n');
  }

  /**
   * Stops everything: the pools and runs (SIGKILL), `up` with Ctrl-C (it stops its services in
   * order), then whatever is still inside one of the namespaces, then the namespaces themselves.
   */
  async close(): Promise<void> {
    for (const t of this.tracked) if (t !== this.up) t.child.kill('SIGKILL');
    if (this.up) await stopChild(this.up.child, 'SIGINT', 60_000);
    for (const host of this.network.hosts) {
      let pids: string[] = [];
      try {
        pids = execFileSync('ip', ['netns', 'pids', host.namespace], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
          .split('\n')
          .filter(Boolean);
      } catch {
        // The namespace is gone already.
      }
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
    }
    this.network.destroy();
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export { GiveUp };

/** The stack's waitFor, polling every half second: each probe here starts a process in a namespace. */
export function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  return waitFor(what, timeoutMs, probe, intervalMs);
}
