import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { ensureFlightsTable } from '../lib/data/flights-loader';
import { planPartitions } from '../lib/data/partition-planner';
import type { Partition } from '../lib/data/partitions';
import { inspectSource } from '../lib/data/source-schema';
import { parsePipelineSpecText, postgresSourceOf } from '../lib/spec/pipeline-spec';
import { runInThread } from '../lib/threads/run-in-thread';
import { startPostgres } from '../scripts/stack/postgres';
import { readFileSync } from 'node:fs';
import { rawCopy } from './data-plane-pg';
import { inParallel } from './data-plane-util';
import { recordResult } from './record';
import { fileStoreSettings } from '../lib/artifacts/artifact-store';

/**
 * Ingest throughput against its floor: the same key ranges read with a raw `COPY (SELECT …) TO
 * STDOUT` that only counts bytes (what psql \copy costs), at the same parallelism, in the same run.
 * Target: pipewright ingest >= 0.8x raw COPY.
 */

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const out = await fn();
  return [out, Number(process.hrtime.bigint() - t) / 1e9];
}

async function main(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 3_000_000);
  const partitions = Number(process.env.BENCH_PARTITIONS ?? os.cpus().length * 2);
  const config = loadConfig();
  const pg = await startPostgres(config, (l) => console.error(l));
  const artifactRoot = mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-'));
  try {
    const table = rows >= 3_000_000 ? 'flights' : `flights_${rows}`;
    await ensureFlightsTable(pgPool(pg.url), table, rows >= 3_000_000 ? undefined : rows);
    const spec = parsePipelineSpecText(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8'));
    const source = postgresSourceOf(spec);
    source.table = table;
    const schema = await inspectSource(pgPool(pg.url), spec, source);
    source.partitions = partitions;
    const ranges = (await planPartitions(pgPool(pg.url), source, schema)).partitions;
    const concurrency = os.cpus().length;

    const each = <T>(fn: (r: Partition) => Promise<T>): Promise<T[]> => inParallel(ranges, concurrency, fn);

    // Warm the table into the page cache so neither side pays the first read.
    await each((r) => rawCopy(pg.url, schema, [r], 'text'));
    const [bytes, copySeconds] = await timed(() => each((r) => rawCopy(pg.url, schema, [r], 'text')));
    // What the server alone costs for the format ingest reads: the ceiling for ingest when the
    // database shares the machine's cores with the workers.
    const [, binarySeconds] = await timed(() => each((r) => rawCopy(pg.url, schema, [r], 'binary')));
    const [shards, ingestSeconds] = await timed(() =>
      each((range) =>
        runInThread('ingestPartition', { databaseUrl: pg.url, artifactStore: fileStoreSettings(artifactRoot), schema, partition: range, batchRows: 65_536 }),
      ),
    );
    const ingested = shards.reduce((n, s) => n + s.rows, 0);
    const result = {
      rows: ingested,
      partitions,
      concurrency,
      rawCopySeconds: copySeconds,
      rawCopyMBps: bytes.reduce((a, b) => a + b, 0) / 1e6 / copySeconds,
      rawBinaryCopySeconds: binarySeconds,
      ingestSeconds,
      ingestRowsPerSecond: ingested / ingestSeconds,
      ratioVsRawCopy: copySeconds / ingestSeconds,
      target: 0.8,
      headline: '',
    };
    result.headline =
      `ingest ${Math.round(result.ingestRowsPerSecond).toLocaleString('en-US')} rows/s = ${result.ratioVsRawCopy.toFixed(2)}× raw COPY TO STDOUT (target ≥ 0.8×); ` +
      `the server's binary COPY alone is ${(copySeconds / binarySeconds).toFixed(2)}×; ${ingested.toLocaleString('en-US')} rows, ${partitions} partitions on ${concurrency} cores`;
    console.table([
      { what: 'raw COPY TO STDOUT (bytes only)', seconds: copySeconds.toFixed(2), 'rows/s': Math.round(ingested / copySeconds) },
      { what: 'raw COPY (FORMAT binary) (bytes only)', seconds: binarySeconds.toFixed(2), 'rows/s': Math.round(ingested / binarySeconds) },
      { what: 'pipewright ingest (parse + Arrow shard)', seconds: ingestSeconds.toFixed(2), 'rows/s': Math.round(ingested / ingestSeconds) },
    ]);
    console.log(`ingest / raw COPY throughput ratio: ${result.ratioVsRawCopy.toFixed(2)}x (target >= 0.8x)`);
    await recordResult('ingest-vs-copy', result);
  } finally {
    rmSync(artifactRoot, { recursive: true, force: true });
    await closePgPools();
    await pg.embedded?.instance.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
