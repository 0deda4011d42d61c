import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { formatMetrics } from '../../lib/evaluation/metrics-summary';
import { listRuns } from '../../lib/registry/run-log';
import { resolveTarget } from '../client/target';

/** `pipewright runs [pipeline]`: the latest runs from the run log, with the metrics of their label's task or where they failed. */
export async function runsCommand(pipeline: string | undefined): Promise<number> {
  const target = await resolveTarget(loadConfig(), false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL to the registry database');
  try {
    const runs = await listRuns(pgPool(target.databaseUrl), pipeline);
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
  } finally {
    await closePgPools();
  }
}
