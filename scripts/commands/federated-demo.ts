import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { EvaluationMetrics, FederatedTrainingResult } from '../../contracts';
import { HEADLINE_METRIC } from '../../contracts/metric-names';
import { artifactStoreSettings } from '../../lib/artifacts/artifact-store';
import { childEnvironment, loadConfig, type PipewrightConfig } from '../../lib/config';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import type { FederatedSpec } from '../../lib/spec/federated-spec';
import { postgresSourceOf } from '../../lib/spec/pipeline-spec';
import { startFederatedTraining, waitForSites, watchFederatedTraining } from '../client/federated-client';
import { printStackInfo } from '../client/print';
import { connectClient, failureMessage, webUiLink } from '../client/pipeline-client';
import { resolveTarget, type Target } from '../client/target';
import { textTable } from '../client/text-table';
import { airportsByRegion, copyTableSubset, databaseUrl, ensureDatabase, FLIGHT_REGIONS, type FlightRegion } from '../federated/site-tables';
import { startProcess, type ManagedProcess } from '../stack/child-process';
import { readFederatedSpec } from './federated';
import { runOnTarget } from './run';

export interface FederatedDemoOptions {
  /** Flights to split (the first N by id); default 500,000. */
  rows?: number;
  spec?: string;
}

const DEFAULT_ROWS = 500_000;
const EXAMPLE = path.join(__dirname, '..', '..', '..', 'examples', 'flights-federated.json');

/**
 * `pipewright federated-demo`: flights split into three sites by the region of the origin airport,
 * each site with its own database and store and its own worker (`pipewright site`); then
 * - the federated model (the spec's rounds over all three sites),
 * - each site alone (the same rounds at one site; the two others only evaluate),
 * - the centralized model (the ordinary pipeline on all the sites' rows in one table, as many epochs),
 * compared on the same test rows: the split is a hash of the row id, so the union of the sites'
 * test splits is the centralized run's test split.
 */
export async function federatedDemoCommand(options: FederatedDemoOptions): Promise<number> {
  const started = Date.now();
  const config = loadConfig();
  const rows = options.rows ?? DEFAULT_ROWS;
  const target = await resolveTarget(config, true, (l) => console.log(l));
  const sites: ManagedProcess[] = [];
  try {
    if (target.ownStack) printStackInfo(target.ownStack.info, config.home);
    const spec = await readFederatedSpec(options.spec ?? EXAMPLE);
    const { central, centralRows } = await splitFlightsIntoSites(target, spec, rows, (l) => console.log(l));
    sites.push(...startFlightSites(target, config));
    console.log(`  site workers: ${sites.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}; logs in ${path.join(config.home, 'logs')}`);

    const client = await connectClient(target.temporalAddress, target.namespace);
    const results: Row[] = [];
    try {
      await waitForSites(client, FLIGHT_REGIONS, target.queuePrefix);
      const { rounds, localEpochs } = spec.federated;
      console.log(
        `\nFederated: ${spec.federated.strategy.kind}, ${rounds} rounds of ${localEpochs} local epoch${localEpochs === 1 ? '' : 's'} over ${FLIGHT_REGIONS.join(', ')}`,
      );
      const federated = await federate(client, target, spec, {});
      results.push({
        model: `federated (${spec.federated.strategy.kind})`,
        trainedOn: FLIGHT_REGIONS.join('+'),
        metrics: federated.metrics,
        sites: federated.siteMetrics,
      });
      for (const region of FLIGHT_REGIONS) {
        console.log(`\n${region} alone: the same rounds at ${region}; the other sites only evaluate`);
        const others = FLIGHT_REGIONS.filter((r) => r !== region);
        const alone = await federate(client, target, spec, {
          name: `${spec.pipeline.name}_${region}_alone`,
          sites: [region],
          evaluationSites: others,
        });
        results.push({ model: `${region} alone`, trainedOn: region, metrics: alone.metrics, sites: alone.siteMetrics });
      }
      console.log(`\nCentralized: the ordinary pipeline on all ${centralRows} rows in one table (${central}), ${rounds * localEpochs} epochs`);
      const pipeline = structuredClone(spec.pipeline);
      pipeline.name = `${spec.pipeline.name}_central`;
      postgresSourceOf(pipeline).table = central;
      pipeline.model.epochs = rounds * localEpochs;
      const centralized = await runOnTarget(target, pipeline, { reuseSteps: false });
      results.push({ model: 'centralized', trainedOn: 'all rows in one place', metrics: centralized.metrics, sites: {} });
    } finally {
      await client.connection.close();
    }

    const metric = headlineName(results[0]!.metrics);
    console.log(`\n${metric.toUpperCase()} on the same test rows (the union of the sites' test splits; per site: that site's test rows):`);
    const lines = textTable(
      [
        ['model', 'trained on', 'test rows', `${metric} (all sites)`, ...FLIGHT_REGIONS],
        ...results.map((r) => [
          r.model,
          r.trainedOn,
          String(r.metrics.rows),
          fmt(value(r.metrics, metric)),
          ...FLIGHT_REGIONS.map((s) => (r.sites[s] ? fmt(value(r.sites[s], metric)) : '-')),
        ]),
      ],
      new Set([2, 3, 4, 5, 6]),
    );
    for (const line of lines) console.log(`  ${line}`);
    console.log(`\nOnly weights, example counts, statistics and metric states left the sites; their rows stayed in their own databases and stores.`);
    console.log(`Federated demo wall time ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return 0;
  } catch (err) {
    throw new Error(failureMessage(err), { cause: err });
  } finally {
    await Promise.all(sites.map((s) => s.stop()));
    await closePgPools();
    await target.ownStack?.stop();
  }
}

/**
 * The first `rows` flights in the main database, and each region's share of them copied into a
 * database of the site's own (`pipewright_site_<region>`, table named as the spec's source); also
 * the union of the regions in one main-database table, for the centralized baseline.
 */
export async function splitFlightsIntoSites(
  target: Target,
  spec: FederatedSpec,
  rows: number,
  log: (line: string) => void,
): Promise<{ central: string; centralRows: number }> {
  if (!target.databaseUrl) throw new Error('the federated demo needs DATABASE_URL when TEMPORAL_ADDRESS is set');
  const mainUrl = target.databaseUrl;
  const db = pgPool(mainUrl);
  const flights = `flights_${rows}`;
  log(`\nLoading the first ${rows} flights into ${flights} (once) and splitting them by the origin airport's region...`);
  await ensureFlightsTable(db, flights, rows);
  const regions = airportsByRegion();
  const table = postgresSourceOf(spec.pipeline).table;
  if (!table) throw new Error(`the federated demo copies a table to each site: the spec's source must name a table, not a query`);
  for (const region of FLIGHT_REGIONS) {
    const database = `pipewright_site_${region}`;
    await ensureDatabase(db, database);
    const copied = await copyTableSubset(db, pgPool(databaseUrl(mainUrl, database)), flights, table, 'id', 'origin = ANY($1)', [regions[region]]);
    log(`  site ${region}: ${copied} flights from ${regions[region].length} airports, in database ${database}`);
  }
  const central = `${flights}_regions`;
  const centralRows = await copyTableSubset(db, db, flights, central, 'id', 'origin = ANY($1)', [FLIGHT_REGIONS.flatMap((r) => regions[r])]);
  return { central, centralRows };
}

/** One site worker per region, as `pipewright site` would run on each site's machine. */
export function startFlightSites(target: Target, config: PipewrightConfig): ManagedProcess[] {
  return FLIGHT_REGIONS.map((region) => startSite(region, target, config));
}

interface Row {
  model: string;
  trainedOn: string;
  metrics: EvaluationMetrics;
  sites: Record<string, EvaluationMetrics>;
}

/** Starts a federated run of `spec` (with `change` applied) and waits for it, printing its rounds. */
export async function federate(
  client: Client,
  target: Target,
  spec: FederatedSpec,
  change: { name?: string; sites?: string[]; evaluationSites?: string[] },
): Promise<FederatedTrainingResult> {
  const pipeline = { ...spec.pipeline, ...(change.name ? { name: change.name } : {}) };
  const federated = {
    ...spec.federated,
    ...(change.sites ? { sites: change.sites, minSites: Math.min(spec.federated.minSites, change.sites.length) } : {}),
    ...(change.evaluationSites ? { evaluationSites: change.evaluationSites } : {}),
  };
  const handle = await startFederatedTraining(client, { pipeline, federated }, { queuePrefix: target.queuePrefix });
  const link = webUiLink(target.uiUrl, target.namespace, handle.workflowId);
  console.log(`  ${handle.workflowId}${link ? `  ${link}` : ''}`);
  return watchFederatedTraining(handle, (l) => console.log(l));
}

/** A site's worker, as `pipewright site` would run on the site's own machine: its database, its home, the coordinator's store. */
function startSite(region: FlightRegion, target: Target, config: PipewrightConfig): ManagedProcess {
  const home = config.home;
  const siteHome = path.join(home, 'sites', region);
  const env = childEnvironment({
    TEMPORAL_ADDRESS: target.temporalAddress,
    TEMPORAL_NAMESPACE: target.namespace,
    DATABASE_URL: databaseUrl(target.databaseUrl!, `pipewright_site_${region}`),
    PIPEWRIGHT_HOME: siteHome,
    PIPEWRIGHT_ARTIFACT_STORE: `file://${path.join(siteHome, 'artifacts')}`,
    PIPEWRIGHT_FEDERATION_STORE: artifactStoreSettings(config).url,
    PIPEWRIGHT_QUEUE_PREFIX: target.queuePrefix,
    ...(target.s3Endpoint ? { PIPEWRIGHT_S3_ENDPOINT: target.s3Endpoint } : {}),
  });
  const cli = path.join(__dirname, '..', 'cli.js');
  return startProcess(`site-${region}`, process.execPath, [cli, 'site', '--name', region], env, path.join(home, 'logs'));
}

function headlineName(metrics: EvaluationMetrics): string {
  return HEADLINE_METRIC[metrics.task ?? 'binary'];
}

function value(metrics: EvaluationMetrics, name: string): number {
  return (metrics as unknown as Record<string, number>)[name] ?? Number.NaN;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : '-';
}
