import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system, every thread) a process has used so far, from /proc/<pid>/stat; NaN
 * where that cannot be read (not Linux, or the process is gone). bench/evaluation.ts measures the
 * compute a search or a cross-validation costs the stack's pools with it: the figure counts work
 * that no workflow history shows, such as a training task still running after its trial was stopped.
 */

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5), utime and stime, are the 12th and 13th after the name.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** The summed CPU seconds of the named processes (name → pid, as a stack publishes them) that `which` selects. */
export function cpuSecondsOf(processes: Record<string, number | null>, which: (name: string) => boolean): number {
  return Object.entries(processes)
    .filter(([name, pid]) => pid !== null && which(name))
    .reduce((sum, [, pid]) => sum + processCpuSeconds(pid!), 0);
}
