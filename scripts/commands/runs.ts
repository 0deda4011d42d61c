import type { Pool } from 'pg';
import { formatMetrics } from '../../lib/evaluation/metrics-summary';
import { getRun, listRuns } from '../../lib/registry/run-log';
import { parseRunsArgs, type RegistryFlags } from '../client/registry-args';
import { compareRunLines } from '../client/run-compare';
import { runDetailLines } from '../client/run-lines';
import { withRegistry } from './registry-db';

/**
 * `pipewright runs ...`: the latest runs from the run log, one run in full, or two runs compared
 * (metrics, stage times, spec differences, same data or not).
 */
export async function runsCommand(args: readonly string[], flags: RegistryFlags = {}): Promise<number> {
  const command = parseRunsArgs(args, flags);
  return withRegistry(async ({ db }) => {
    switch (command.kind) {
      case 'list':
        return list(db, command.pipeline);
      case 'show':
        for (const line of runDetailLines(await getRun(db, command.runId))) console.log(line);
        return 0;
      case 'compare': {
        const [a, b] = await Promise.all([getRun(db, command.a), getRun(db, command.b)]);
        for (const line of compareRunLines(a, b)) console.log(line);
        return 0;
      }
    }
  });
}

/** The latest runs, with the metrics of their label's task or where they failed. */
async function list(db: Pool, pipeline: string | undefined): Promise<number> {
  const runs = await listRuns(db, pipeline);
  if (runs.length === 0) console.log(pipeline ? `no runs of ${pipeline}` : 'no runs yet');
  for (const run of runs) {
    const seconds = run.finishedAt ? ` in ${((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1)}s` : '';
    console.log(`${run.runId}  ${run.status.padEnd(9)} started ${run.startedAt.toISOString()}${seconds}`);
    const m = run.metrics;
    if (m === null) continue;
    if ('error' in m) console.log(`    failed in ${m.stage}: ${m.error}`);
    else console.log(`    ${formatMetrics(m)}`);
  }
  return 0;
}
