import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { WORKER_POOLS } from '../contracts';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { ident } from '../lib/db/sql';
import { ensureFlightsTable } from '../lib/data/flights-loader';
import { listModelVersions, productionVersion } from '../lib/registry/model-registry';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { binaryMetricsOf } from '../lib/evaluation/metrics-summary';
import { connectClient, startTrainingPipeline, watchPipeline } from '../scripts/client/pipeline-client';
import type { FlightInstance } from '../scripts/client/predict';
import { startPostgres } from '../scripts/stack/postgres';
import { startStack } from '../scripts/stack/stack';
import { benchStackConfig } from './bench-stack-config';

/**
 * The registry half of bench/serving.ts: a stack of its own (`pipewright up` without the model
 * server; its own PIPEWRIGHT_HOME, ports shifted) with a slice of the flights table, and the spec's
 * pipeline run on it twice (the second time with another model seed), so that the registry holds
 * two versions of a real flights model to serve and to swap between. The stack is then stopped and
 * only its PostgreSQL started again: the model servers need nothing else, and an idle Temporal
 * server and five pools would take their share of 2 cores from the load.
 */

export interface ServingData {
  databaseUrl: string;
  home: string;
  table: string;
  model: string;
  /** Every registered version of the model, oldest first. */
  versions: number[];
  production: number;
  /** Distinct real flights from the table, in the raw form the model server takes. */
  instances: FlightInstance[];
  runs: Array<{ runId: string; version: number; seed: number; seconds: number; auc: number }>;
}

export interface ServingStackOptions {
  /** A home to keep (its PostgreSQL keeps the table between runs); default a temporary one, removed at the end. */
  home?: string;
  portOffset: number;
  rows: number;
  /** Distinct flights to send. */
  instances: number;
  log: (line: string) => void;
}

/** The demo spec without its evaluation (slices, importance, the blessing vs production): every run is deployed. */
function servingSpec(spec: PipelineSpec, table: string, seed: number): PipelineSpec {
  const run: PipelineSpec = structuredClone(spec);
  if (run.source.kind !== 'postgres') throw new Error('bench/serving-stack.ts runs a spec with a postgres source');
  run.source.table = table;
  delete run.evaluation;
  run.model = { ...run.model, seed };
  return run;
}

async function sampleFlights(databaseUrl: string, table: string, count: number): Promise<FlightInstance[]> {
  const { rows } = await pgPool(databaseUrl).query<FlightInstance>(
    `SELECT to_char(date, 'YYYY-MM-DD"T"HH24:MI:SS') AS date, distance, origin, destination
       FROM ${ident(table)} ORDER BY md5(id::text) LIMIT $1`,
    [count],
  );
  if (rows.length === 0) throw new Error(`table ${table} is empty`);
  return rows.map((r) => ({ date: r.date, distance: Number(r.distance), origin: r.origin, destination: r.destination }));
}

/** Trains and registers the two versions, then calls `body` with PostgreSQL alone running; stops it afterwards, also on failure or Ctrl-C. */
export async function withServingData<T>(spec: PipelineSpec, options: ServingStackOptions, body: (data: ServingData) => Promise<T>): Promise<T> {
  const temporary = options.home === undefined;
  const home = options.home ?? mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-serving-'));
  const config = benchStackConfig(home, options.portOffset);
  const table = `flights_${options.rows}`;
  let stopPostgres: (() => Promise<void>) | undefined;
  let stopStack: (() => Promise<void>) | undefined;
  const cleanUp = async (): Promise<void> => {
    await closePgPools().catch(() => undefined);
    await stopStack?.().catch(() => undefined);
    await stopPostgres?.().catch(() => undefined);
    if (temporary) rmSync(home, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    options.log(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    options.log(`starting a stack in ${home} (Temporal :${config.temporalPort}, PostgreSQL :${config.postgresPort})`);
    const stack = await startStack(config, { pools: WORKER_POOLS, modelServer: false, log: (l) => options.log(`  ${l}`) });
    stopStack = stack.stop;
    const runs: ServingData['runs'] = [];
    let client: Client | undefined;
    let model: string;
    try {
      client = await connectClient(stack.info.temporalAddress, stack.info.namespace);
      const loaded = await ensureFlightsTable(pgPool(stack.info.databaseUrl), table, options.rows);
      if (loaded.loaded) options.log(`  loaded ${loaded.rows} rows into ${table} in ${loaded.seconds.toFixed(1)} s`);
      const seed = spec.model.seed ?? 7;
      model = spec.model.name ?? spec.name;
      for (const s of [seed, seed + 1]) {
        const run = servingSpec(spec, table, s);
        options.log(`  the pipeline on ${table}, model seed ${s} ...`);
        const started = performance.now();
        const handle = await startTrainingPipeline(client, run, { reuseSteps: false, queuePrefix: stack.info.queuePrefix });
        const result = await watchPipeline(handle, false);
        const seconds = (performance.now() - started) / 1000;
        const auc = binaryMetricsOf(result.metrics).auc;
        runs.push({ runId: result.runId, version: result.model.version, seed: s, seconds, auc });
        options.log(`  ${result.runId}: ${model} v${result.model.version}, AUC ${auc.toFixed(4)}, ${seconds.toFixed(1)} s`);
      }
    } finally {
      await client?.connection.close().catch(() => undefined);
      await closePgPools();
      options.log('stopping the stack; starting its PostgreSQL alone');
      await stack.stop();
      stopStack = undefined;
    }
    const pg = await startPostgres(config, (l) => options.log(`  ${l}`));
    stopPostgres = pg.embedded ? () => pg.embedded!.instance.stop() : undefined;
    const pool = pgPool(pg.url);
    const versions = (await listModelVersions(pool, model)).map((v) => v.version);
    const production = (await productionVersion(pool, model))?.version;
    if (production === undefined || versions.length < 2) throw new Error(`${model}: expected two versions and a production one, found ${versions.join(', ')}`);
    const instances = await sampleFlights(pg.url, table, options.instances);
    return await body({ databaseUrl: pg.url, home, table, model, versions, production, instances, runs });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}
