import path from 'node:path';
import type { EvaluationMetrics, FederatedTrainingResult } from '../contracts';
import { loadConfig } from '../lib/config';
import { closePgPools } from '../lib/db/pg-pools';
import { postgresSourceOf } from '../lib/spec/pipeline-spec';
import { waitForSites } from '../scripts/client/federated-client';
import { connectClient } from '../scripts/client/pipeline-client';
import { resolveTarget } from '../scripts/client/target';
import { federate, splitFlightsIntoSites, startFlightSites } from '../scripts/commands/federated-demo';
import { readFederatedSpec } from '../scripts/commands/federated';
import { runOnTarget } from '../scripts/commands/run';
import { FLIGHT_REGIONS } from '../scripts/federated/site-tables';
import { timelineOf } from './activity-timeline';
import { recordResult } from './record';

/**
 * Federated training on flights split by region into three sites (each its own database, store
 * and worker process, on this machine), read back from the runs' histories:
 * - the global model's AUC on the union of the sites' test rows, against each site alone and the
 *   centralized pipeline on the same rows (same test rows: the split hashes the row id);
 * - the orchestration share of a federated run (time no activity runs, of the workflow's wall);
 * - secure aggregation's cost: its wall time and AUC against the same run without masks.
 *
 * Uses the stack `pipewright up` runs for PIPEWRIGHT_HOME, or starts one. BENCH_ROWS (default
 * 500,000) picks how many flights are split.
 */
async function main(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 500_000);
  const config = loadConfig();
  const target = await resolveTarget(config, true, (l) => console.error(l));
  const spec = await readFederatedSpec(path.join(__dirname, '..', '..', 'examples', 'flights-federated.json'));
  const { central, centralRows } = await splitFlightsIntoSites(target, spec, rows, (l) => console.log(l));
  const sites = startFlightSites(target, config);
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    // Measured from sites already polling, as they would be at real institutions.
    await waitForSites(client, FLIGHT_REGIONS, target.queuePrefix);
    const measured = async (name: string, change: Parameters<typeof federate>[3], secure = false) => {
      const s = secure ? { ...spec, federated: { ...spec.federated, secureAggregation: true } } : spec;
      const result = await federate(client, target, s, change);
      const timeline = timelineOf((await client.workflow.getHandle(result.runId).fetchHistory()).events ?? []);
      return { name, result, wallSeconds: timeline.wallMs / 1000, orchestrationShare: (timeline.wallMs - timeline.busyMs) / timeline.wallMs };
    };
    const plain = await measured('federated', {});
    const secure = await measured('federated, secure aggregation', { name: `${spec.pipeline.name}_secure` }, true);
    const alone = [];
    for (const region of FLIGHT_REGIONS)
      alone.push(
        await measured(`${region} alone`, {
          name: `${spec.pipeline.name}_${region}_alone`,
          sites: [region],
          evaluationSites: FLIGHT_REGIONS.filter((r) => r !== region),
        }),
      );
    const pipeline = structuredClone(spec.pipeline);
    pipeline.name = `${spec.pipeline.name}_central`;
    postgresSourceOf(pipeline).table = central;
    pipeline.model.epochs = spec.federated.rounds * spec.federated.localEpochs;
    const started = Date.now();
    const centralized = await runOnTarget(target, pipeline, { reuseSteps: false });
    const centralSeconds = (Date.now() - started) / 1000;

    const auc = (m: EvaluationMetrics): number => (m as { auc?: number }).auc ?? Number.NaN;
    const row = (r: { name: string; result: FederatedTrainingResult; wallSeconds: number; orchestrationShare: number }) => ({
      model: r.name,
      'test rows': r.result.metrics.rows,
      auc: auc(r.result.metrics),
      ...Object.fromEntries(FLIGHT_REGIONS.map((s) => [`auc ${s}`, r.result.siteMetrics[s] ? auc(r.result.siteMetrics[s]) : Number.NaN])),
      'wall s': r.wallSeconds,
      orchestration: r.orchestrationShare,
    });
    const table = [
      row(plain),
      row(secure),
      ...alone.map(row),
      { model: 'centralized', 'test rows': centralized.metrics.rows, auc: auc(centralized.metrics), 'wall s': centralSeconds },
    ];
    console.table(table);
    const roundSeconds = plain.result.rounds.map((r) => r.seconds);
    await recordResult('federated', {
      rows,
      centralRows,
      spec: { rounds: spec.federated.rounds, localEpochs: spec.federated.localEpochs, strategy: spec.federated.strategy.kind, model: spec.pipeline.model.type },
      sites: plain.result.sites,
      table,
      roundSeconds,
      secureWallRatio: secure.wallSeconds / plain.wallSeconds,
      headline:
        `flights ${rows.toLocaleString('en-US')} split into ${FLIGHT_REGIONS.length} regions: federated AUC ${auc(plain.result.metrics).toFixed(4)} ` +
        `vs centralized ${auc(centralized.metrics).toFixed(4)} and each site alone ${alone.map((a) => auc(a.result.metrics).toFixed(4)).join(' / ')} on the same ${plain.result.metrics.rows} test rows; ` +
        `orchestration ${(100 * plain.orchestrationShare).toFixed(1)}% of a federated run's wall time; secure aggregation ${(secure.wallSeconds / plain.wallSeconds).toFixed(2)}× the wall time, AUC ${auc(secure.result.metrics).toFixed(4)}`,
    });
  } finally {
    await client.connection.close();
    await Promise.all(sites.map((s) => s.stop()));
    await closePgPools();
    await target.ownStack?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
