import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { listModelVersions } from '../../lib/registry/model-registry';
import { formatMetrics } from '../../lib/evaluation/metrics-summary';
import { resolveTarget } from '../client/target';

/** `pipewright models [name]`: the registry's versions with stage, metrics and lineage. */
export async function modelsCommand(name: string | undefined): Promise<number> {
  const target = await resolveTarget(loadConfig(), false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL to the registry database');
  try {
    const rows = await listModelVersions(pgPool(target.databaseUrl), name);
    if (rows.length === 0) console.log(name ? `no versions of ${name}` : 'no models registered yet');
    for (const r of rows) {
      console.log(`${r.name} v${r.version}  ${r.stage.padEnd(10)} ${formatMetrics(r.metrics)}`);
      console.log(`    run ${r.runId} · backend ${r.backend} · data ${r.datasetSha256.slice(0, 12)} · model ${r.modelUri}`);
    }
    return 0;
  } finally {
    await closePgPools();
  }
}
