import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ExitStatus, ServiceInstance } from './supervisor';

export interface ManagedProcess extends ServiceInstance {
  name: string;
  child: ChildProcess;
  logFile: string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Children still running when this process exits get SIGTERM, so none is orphaned. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * Starts a long-running child whose output goes to `<logDir>/<name>.log`, and stops it with
 * SIGTERM, then SIGKILL after a grace period.
 */
export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): ManagedProcess {
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  running.add(child);
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      log.end();
      resolve({ code, signal });
    });
    // Spawning failed (e.g. the binary is missing): there will be no 'exit'.
    child.on('error', () => {
      running.delete(child);
      resolve({ code: -1, signal: null });
    });
  });
  return {
    name,
    child,
    pid: child.pid,
    logFile,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null || !running.has(child)) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Thrown by a probe to stop waiting at once: what it waits for cannot come (its process has died). */
export class GiveUp extends Error {}

/**
 * Polls `probe` until it returns a value. Its errors count as "not yet" and are retried until the
 * deadline, then reported; a GiveUp ends the wait at once.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`while waiting for ${what}: ${err.message}`, { cause: err });
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
