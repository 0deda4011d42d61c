import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { childEnvironment } from '../lib/config';
import { processCpuSeconds } from './evaluation-cpu';
import { startProcess, type ManagedProcess } from '../scripts/stack/child-process';

/**
 * The servers bench/serving.ts loads: the model server (`node dist/scripts/model-server.js`, as
 * `pipewright up` starts it) with a configuration of its own, and the bare Fastify baseline
 * (bench/serving-baseline-server.ts), each a process of its own on its own loopback port.
 */

export interface ServerUnderTest {
  name: string;
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

const distRoot = path.join(__dirname, '..');

async function waitReady(name: string, url: string, proc: ManagedProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited before it was ready; see ${proc.logFile}`);
    try {
      const res = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.stop();
  throw new Error(`${name} was not ready at ${url} within ${timeoutMs / 1000} s; see ${proc.logFile}`);
}

async function started(name: string, port: number, proc: ManagedProcess): Promise<ServerUnderTest> {
  const url = `http://127.0.0.1:${port}`;
  await waitReady(name, url, proc);
  return { name, url, pid: proc.pid!, logFile: proc.logFile, stop: () => proc.stop() };
}

/** The model server with `env` on top of DATABASE_URL and the port (PIPEWRIGHT_SERVE_BATCH_ROWS, PIPEWRIGHT_PREDICTION_LOG, ...). */
export function startModelServer(name: string, port: number, databaseUrl: string, env: Record<string, string>, logDir: string): Promise<ServerUnderTest> {
  const proc = startProcess(
    name,
    process.execPath,
    [path.join(distRoot, 'scripts', 'model-server.js')],
    childEnvironment({
      DATABASE_URL: databaseUrl,
      PIPEWRIGHT_SERVE_PORT: String(port),
      PIPEWRIGHT_SERVE_HOST: '127.0.0.1',
      // Only this run's knobs: none of the shell's serving settings.
      PIPEWRIGHT_SERVE_BATCH_ROWS: undefined,
      PIPEWRIGHT_SERVE_BATCH_WAIT_MS: undefined,
      PIPEWRIGHT_PREDICTION_LOG: undefined,
      ...env,
    }),
    logDir,
  );
  return started(name, port, proc);
}

export function startBaselineServer(name: string, port: number, logDir: string): Promise<ServerUnderTest> {
  const proc = startProcess(name, process.execPath, [path.join(distRoot, 'bench', 'serving-baseline-server.js'), String(port)], childEnvironment(), logDir);
  return started(name, port, proc);
}

/** The sum over label sets of one sample of a Prometheus text exposition (e.g. pipewright_serving_batch_rows_sum). */
export function metricSum(text: string, sample: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(sample)) continue;
    const rest = line.slice(sample.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Forward passes and the rows in them so far, from the server's /metrics. */
export async function batchCounters(url: string): Promise<{ passes: number; rows: number; requests: number; predictionLog: Record<string, number> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const state = (s: string): number => metricSum(text, `pipewright_prediction_log_rows{state="${s}"}`);
  return {
    passes: metricSum(text, 'pipewright_serving_batch_rows_count'),
    rows: metricSum(text, 'pipewright_serving_batch_rows_sum'),
    requests: metricSum(text, 'pipewright_serving_batch_requests_sum'),
    predictionLog: { logged: state('logged'), dropped: state('dropped'), queued: state('queued') },
  };
}

/**
 * CPU seconds used so far by an embedded PostgreSQL: its postmaster (the pid in postmaster.pid) and
 * every process it started (backends, writers). Backends that have exited are not counted, which is
 * why the model servers' pools keep theirs open. NaN when the data folder or /proc cannot be read.
 */
export function postgresCpuSeconds(dataDir: string): number {
  try {
    const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let sum = processCpuSeconds(postmaster);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // Field 4 (ppid) is the 2nd after the parenthesised command name.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) sum += processCpuSeconds(Number(entry));
    }
    return sum;
  } catch {
    return Number.NaN;
  }
}
