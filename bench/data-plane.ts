import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { hashFile, localArtifactPath } from '../lib/artifacts/artifact-store';
import { loadConfig } from '../lib/config';
import { ensureFlightsTable, flightsParquetPath } from '../lib/data/flights-loader';
import { planPartitions } from '../lib/data/partition-planner';
import type { Partition } from '../lib/data/partitions';
import { inspectSource } from '../lib/data/source-schema';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { parsePipelineSpecText, type PipelineSpec } from '../lib/spec/pipeline-spec';
import { startPostgres } from '../scripts/stack/postgres';
import { headline, peakRss, printPeakRss, printSize, type SizeResult, type StepFigures } from './data-plane-report';
import { serverCpuReader } from './data-plane-pg';
import { ensureRepeatedFlights } from './data-plane-table';
import { measure } from './data-plane-util';
import { RESULT_PREFIX, type StepRequest, type StepResult } from './data-plane-worker';
import { mirrorSpec } from './duckdb-transforms';
import { recordResult } from './record';

/**
 * The data plane against baselines measured in the same run, on the flights table and on it
 * repeated with fresh keys: ingest against raw `COPY … TO STDOUT`, the transform stage against
 * DuckDB running the same work in SQL, and the peak RSS of every process that does the work.
 * Each measured step runs in a process of its own (bench/data-plane-worker.ts).
 *
 * BENCH_ROWS: comma-separated row counts, each a multiple of the flights table (default 3M and 30M).
 */

const INGEST_TARGET = 0.8;
const TRANSFORM_TARGET = 1.0;
/** Disk one row needs at most while a size runs: a raw shard, its encoded shard and the repeated table's heap, index and WAL. */
const DISK_BYTES_PER_ROW = 250;

function runStep(request: StepRequest): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'data-plane-worker.js'), JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line !== undefined) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as StepResult);
      else reject(new Error(`the ${request.step} step exited with code ${code}${line === undefined ? ' and no result' : ''}`));
    });
  });
}

function freeGiB(dir: string): number {
  const s = statfsSync(dir);
  return (s.bavail * s.bsize) / 2 ** 30;
}

/** One table size: every step, in the order that leaves each the page cache the one before warmed. */
async function runSize(
  pool: Pool,
  databaseUrl: string,
  spec: PipelineSpec,
  rows: number,
  copies: number,
  slots: number,
  serverCpu: (() => number) | null,
): Promise<SizeResult> {
  if (spec.source.kind !== 'postgres') throw new Error('examples/flights.json must read PostgreSQL');
  const table = copies === 1 ? 'flights' : `flights_${rows / 1e6}m`;
  const build = copies === 1 ? null : await ensureRepeatedFlights(pool, 'flights', copies, table);
  if (build?.built) console.log(`built ${table} (${build.rows.toLocaleString('en-US')} rows) in ${build.seconds.toFixed(1)} s`);
  const source = { ...spec.source, table };
  const sized: PipelineSpec = { ...spec, source };
  const schema = await inspectSource(pool, sized, source);
  const plan = async (partitions: number): Promise<Partition[]> => (await planPartitions(pool, { ...source, partitions }, schema)).partitions;
  const [one, two, specPartitions] = [await plan(1), await plan(2), await plan(source.partitions)];

  const root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-data-plane-'));
  const figures = async (what: string, request: StepRequest): Promise<[StepFigures, StepResult]> => {
    console.log(`${table}: ${what}`);
    const before = serverCpu?.();
    const result = await runStep(request);
    const serverCpuSeconds = before === undefined ? null : serverCpu!() - before;
    const done: StepFigures = {
      seconds: result.seconds,
      rowsPerSecond: rows / result.seconds,
      cpuSeconds: result.cpuSeconds,
      serverCpuSeconds,
      peakRssMiB: result.peakRssMiB,
    };
    return [done, result];
  };
  try {
    const copy = (ranges: Partition[], format: 'text' | 'binary'): StepRequest => ({ step: 'copy', databaseUrl, schema, ranges, format });
    // Reads the table once so that no measured step pays its first read from disk.
    await figures('warming the page cache', copy(two, 'text'));
    const [copyOne] = await figures('raw COPY, one range', copy(one, 'text'));
    const [copyTwo] = await figures('raw COPY, two ranges', copy(two, 'text'));
    const [binaryTwo] = await figures('raw binary COPY, two ranges', copy(two, 'binary'));
    const ingestRoot = path.join(root, 'ingest-2');
    const [ingestTwo] = await figures('ingest, 2 partitions', { step: 'ingest', databaseUrl, artifactRoot: ingestRoot, schema, ranges: two, concurrency: 2 });
    rmSync(ingestRoot, { recursive: true, force: true });
    const pipelineRoot = path.join(root, 'pipeline');
    const [ingestSpec, ingested] = await figures(`ingest, ${specPartitions.length} partitions`, {
      step: 'ingest',
      databaseUrl,
      artifactRoot: pipelineRoot,
      schema,
      ranges: specPartitions,
      concurrency: slots,
    });
    const shards = ingested.shards!;
    // What ingest's artifact store spends re-reading and hashing its shards after writing them, done here once more.
    const hashing = await measure(() => Promise.all(shards.map(async (s) => hashFile(await localArtifactPath(s.uri)))));
    const [fit, fitted] = await figures('fit', { step: 'fit', artifactRoot: pipelineRoot, spec: sized, shards });
    const [apply, applied] = await figures('apply', { step: 'apply', artifactRoot: pipelineRoot, transform: fitted.transform!, shards, concurrency: slots });
    const threads = os.cpus().length;
    const [, duck] = await figures(`DuckDB (${threads} threads)`, { step: 'duckdb', parquet: flightsParquetPath(), copies, threads, spec: mirrorSpec(sized) });
    const d = duck.duckdb!;
    const encodedRows = applied.encoded!.reduce((n, e) => n + e.trainRows + e.testRows, 0);
    if (shards.reduce((n, s) => n + s.rows, 0) !== rows || encodedRows !== rows || d.encodedRows !== rows) {
      throw new Error(`row counts differ: ${rows} in ${table}, ${encodedRows} encoded by pipewright, ${d.encodedRows} by DuckDB`);
    }
    const pipewrightSeconds = fit.seconds + apply.seconds;
    const duckSeconds = d.fitSeconds + d.applySeconds;
    return {
      rows,
      table,
      tableBuild: build && { built: build.built, seconds: build.seconds },
      ingest: {
        rawCopyOneRange: copyOne,
        rawCopyTwoRanges: copyTwo,
        rawBinaryCopyTwoRanges: binaryTwo,
        ingestTwoPartitions: { ...ingestTwo, partitions: 2, concurrency: 2, ratio: copyTwo.seconds / ingestTwo.seconds },
        ingestSpecPartitions: { ...ingestSpec, partitions: specPartitions.length, concurrency: slots, ratio: copyTwo.seconds / ingestSpec.seconds },
        target: INGEST_TARGET,
        targetMet: copyTwo.seconds / ingestTwo.seconds >= INGEST_TARGET,
        shardBytes: shards.reduce((n, s) => n + s.bytes, 0),
        shardHashSeconds: hashing.seconds,
      },
      transforms: {
        pipewright: { fit, apply, seconds: pipewrightSeconds, rowsPerSecond: rows / pipewrightSeconds, trainRows: fitted.transform!.trainRows },
        duckdb: {
          threads: d.threads,
          loadSeconds: d.loadSeconds,
          fitSeconds: d.fitSeconds,
          applySeconds: d.applySeconds,
          seconds: duckSeconds,
          rowsPerSecond: rows / duckSeconds,
          cpuSeconds: duck.cpuSeconds,
          peakRssMiB: duck.peakRssMiB,
          trainRows: d.trainRows,
        },
        ratio: duckSeconds / pipewrightSeconds,
        target: TRANSFORM_TARGET,
        targetMet: duckSeconds / pipewrightSeconds >= TRANSFORM_TARGET,
      },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const config = loadConfig();
  const pg = await startPostgres(config, (l) => console.error(l));
  try {
    const pool = pgPool(pg.url);
    const flights = await ensureFlightsTable(pool, 'flights');
    const sizes = (process.env.BENCH_ROWS ?? `${flights.rows},${10 * flights.rows}`).split(',').map(Number);
    for (const rows of sizes) {
      if (!(Number.isInteger(rows / flights.rows) && rows > 0))
        throw new Error(`BENCH_ROWS: ${rows} is not a multiple of the flights table's ${flights.rows} rows`);
    }
    const spec = parsePipelineSpecText(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8'));
    const serverCpu = await serverCpuReader(pool);
    const results: SizeResult[] = [];
    for (const rows of sizes) {
      const need = (rows * DISK_BYTES_PER_ROW) / 2 ** 30;
      const free = freeGiB(os.tmpdir());
      console.log(`\n== ${rows.toLocaleString('en-US')} rows (${free.toFixed(0)} GiB free under ${os.tmpdir()}, about ${need.toFixed(1)} GiB needed)`);
      if (free < need) throw new Error(`${os.tmpdir()} has ${free.toFixed(1)} GiB free; ${rows} rows need about ${need.toFixed(1)} GiB`);
      const sizeStarted = process.hrtime.bigint();
      const result = await runSize(pool, pg.url, spec, rows, rows / flights.rows, config.slots.cpu, serverCpu);
      result.elapsedSeconds = Number(process.hrtime.bigint() - sizeStarted) / 1e9;
      printSize(result);
      console.log(`${result.table}: ${result.elapsedSeconds.toFixed(0)} s for this size in all`);
      results.push(result);
    }
    const rss = peakRss(results);
    printPeakRss(rss);
    const summary = {
      sizes: results,
      peakRss: rss,
      cores: os.cpus().length,
      cpuSlots: config.slots.cpu,
      duckdbThreads: os.cpus().length,
      serverCpuMeasured: serverCpu !== null,
      split: 'pipewright: its keyed hash (lib/features/split.ts); DuckDB: hash(id) % round(1 / testFraction) = 0 is test',
      elapsedSeconds: Number(process.hrtime.bigint() - started) / 1e9,
      headline: headline(results),
    };
    console.log(`\n${summary.headline}`);
    await recordResult('data-plane', summary);
  } finally {
    await closePgPools();
    await pg.embedded?.instance.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
