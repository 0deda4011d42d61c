/** The data-plane benchmark's figures: what bench/results/data-plane.json holds, and how they print. */

/** One measured step, each in a process of its own. */
export interface StepFigures {
  seconds: number;
  rowsPerSecond: number;
  /** CPU seconds of the step's process, every thread counted. */
  cpuSeconds: number;
  /** CPU seconds the PostgreSQL server used meanwhile; null when it is not a local process. */
  serverCpuSeconds: number | null;
  peakRssMiB: number;
}

export interface IngestFigures extends StepFigures {
  partitions: number;
  concurrency: number;
  /** Throughput against two-range raw COPY (text). */
  ratio: number;
}

export interface SizeResult {
  rows: number;
  table: string;
  /** How the repeated table came about; null for the flights table itself. */
  tableBuild: { built: boolean; seconds: number } | null;
  ingest: {
    rawCopyOneRange: StepFigures;
    rawCopyTwoRanges: StepFigures;
    rawBinaryCopyTwoRanges: StepFigures;
    ingestTwoPartitions: IngestFigures;
    ingestSpecPartitions: IngestFigures;
    target: number;
    targetMet: boolean;
    shardBytes: number;
    shardHashSeconds: number;
  };
  transforms: {
    pipewright: { fit: StepFigures; apply: StepFigures; seconds: number; rowsPerSecond: number; trainRows: number };
    duckdb: {
      threads: number;
      loadSeconds: number;
      fitSeconds: number;
      applySeconds: number;
      seconds: number;
      rowsPerSecond: number;
      cpuSeconds: number;
      peakRssMiB: number;
      trainRows: number;
    };
    /** Throughput against DuckDB's. */
    ratio: number;
    target: number;
    targetMet: boolean;
  };
  elapsedSeconds?: number;
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const s = (x: number): string => x.toFixed(2);
const mib = (x: number): string => x.toFixed(0);
const cpu = (x: number | null): string => (x === null ? '-' : x.toFixed(1));
const millions = (rows: number): string => `${rows / 1e6}M`;

export function printSize(r: SizeResult): void {
  const { ingest: i, transforms: t } = r;
  const row = (what: string, f: StepFigures, ratio: string) => ({
    what,
    seconds: s(f.seconds),
    'rows/s': n(f.rowsPerSecond),
    ratio,
    'peak RSS MiB': mib(f.peakRssMiB),
    'CPU s': cpu(f.cpuSeconds),
    'server CPU s': cpu(f.serverCpuSeconds),
  });
  console.log(`\n${r.table}: ${n(r.rows)} rows`);
  console.table([
    row('raw COPY TO STDOUT, 1 range', i.rawCopyOneRange, s(i.rawCopyTwoRanges.seconds / i.rawCopyOneRange.seconds)),
    row('raw COPY TO STDOUT, 2 ranges (baseline)', i.rawCopyTwoRanges, '1.00'),
    row('raw COPY (FORMAT binary), 2 ranges', i.rawBinaryCopyTwoRanges, s(i.rawCopyTwoRanges.seconds / i.rawBinaryCopyTwoRanges.seconds)),
    row('pipewright ingest, 2 partitions, 2 at a time', i.ingestTwoPartitions, s(i.ingestTwoPartitions.ratio)),
    row(
      `pipewright ingest, ${i.ingestSpecPartitions.partitions} partitions, ${i.ingestSpecPartitions.concurrency} at a time`,
      i.ingestSpecPartitions,
      s(i.ingestSpecPartitions.ratio),
    ),
  ]);
  console.log(
    `ingest / two-range raw COPY: ${s(i.ingestTwoPartitions.ratio)}× (target ≥ ${i.target}×: ${i.targetMet ? 'met' : 'NOT met'}); ` +
      `re-reading and hashing the ${(i.shardBytes / 2 ** 20).toFixed(0)} MiB of shards alone takes ${s(i.shardHashSeconds)} s`,
  );
  const duck = (what: string, seconds: number) => ({
    what,
    seconds: s(seconds),
    'rows/s': n(r.rows / seconds),
    ratio: '',
    'peak RSS MiB': '',
    'CPU s': '',
    'server CPU s': '',
  });
  console.table([
    row('pipewright fit (1 thread)', t.pipewright.fit, ''),
    row(`pipewright apply (${i.ingestSpecPartitions.partitions} shards, ${i.ingestSpecPartitions.concurrency} threads)`, t.pipewright.apply, ''),
    { ...duck('pipewright fit + apply', t.pipewright.seconds), ratio: s(t.ratio) },
    { ...duck(`DuckDB fit (${t.duckdb.threads} threads)`, t.duckdb.fitSeconds) },
    { ...duck(`DuckDB apply, CREATE TABLE AS (${t.duckdb.threads} threads)`, t.duckdb.applySeconds) },
    { ...duck('DuckDB fit + apply (baseline)', t.duckdb.seconds), ratio: '1.00', 'peak RSS MiB': mib(t.duckdb.peakRssMiB), 'CPU s': cpu(t.duckdb.cpuSeconds) },
  ]);
  console.log(
    `transforms / DuckDB: ${s(t.ratio)}× (target ≥ ${t.target}×: ${t.targetMet ? 'met' : 'NOT met'}); DuckDB loaded the rows in ${s(t.duckdb.loadSeconds)} s (untimed)`,
  );
}

/** Peak RSS may grow this much from the smallest size to the largest and still count as flat. */
const FLAT_GROWTH = 1.25;
const RSS_LIMIT_MIB = 1024;

export interface PeakRss {
  sizes: number[];
  /** Per step, its peak RSS at each size, in MiB. */
  steps: Record<'ingest' | 'fit' | 'apply', number[]>;
  /** Largest size's figure over the smallest's, per step. */
  growth: Record<'ingest' | 'fit' | 'apply', number>;
  flat: boolean;
  underLimit: boolean;
}

/** The processes that do the work: an ingest worker running 2 partitions in threads, the fit, the apply. */
export function peakRss(results: SizeResult[]): PeakRss {
  const steps = {
    ingest: results.map((r) => r.ingest.ingestTwoPartitions.peakRssMiB),
    fit: results.map((r) => r.transforms.pipewright.fit.peakRssMiB),
    apply: results.map((r) => r.transforms.pipewright.apply.peakRssMiB),
  };
  const grow = (xs: number[]): number => xs[xs.length - 1]! / xs[0]!;
  const growth = { ingest: grow(steps.ingest), fit: grow(steps.fit), apply: grow(steps.apply) };
  return {
    sizes: results.map((r) => r.rows),
    steps,
    growth,
    flat: Object.values(growth).every((g) => g <= FLAT_GROWTH),
    underLimit: Object.values(steps).every((xs) => xs[xs.length - 1]! < RSS_LIMIT_MIB),
  };
}

export function printPeakRss(rss: PeakRss): void {
  console.log(`\npeak RSS (MiB) of each process doing the work`);
  console.table(
    (['ingest', 'fit', 'apply'] as const).map((step) => ({
      step: step === 'ingest' ? 'ingest (2 partitions in threads)' : step,
      ...Object.fromEntries(rss.sizes.map((rows, i) => [millions(rows), mib(rss.steps[step][i]!)])),
      growth: `${rss.growth[step].toFixed(2)}×`,
    })),
  );
  console.log(
    `target: flat (≤ ${FLAT_GROWTH}× from ${millions(rss.sizes[0]!)} to ${millions(rss.sizes[rss.sizes.length - 1]!)}): ${rss.flat ? 'met' : 'NOT met'}; ` +
      `under ${RSS_LIMIT_MIB} MiB at ${millions(rss.sizes[rss.sizes.length - 1]!)}: ${rss.underLimit ? 'met' : 'NOT met'}`,
  );
}

/** One line for the README's results table. */
export function headline(results: SizeResult[]): string {
  const perSize = results.map(
    (r) =>
      `${millions(r.rows)}: ingest ${n(r.ingest.ingestTwoPartitions.rowsPerSecond)} rows/s = ${s(r.ingest.ingestTwoPartitions.ratio)}× two-range raw COPY ` +
      `(${r.ingest.ingestSpecPartitions.partitions} partitions ${s(r.ingest.ingestSpecPartitions.ratio)}×; target ≥ ${r.ingest.target}×), ` +
      `fit + apply ${n(r.transforms.pipewright.rowsPerSecond)} rows/s = ${s(r.transforms.ratio)}× DuckDB (target ≥ ${r.transforms.target}×)`,
  );
  const rss = peakRss(results);
  const steps = (['ingest', 'fit', 'apply'] as const).map((step) => `${step} ${rss.steps[step].map(mib).join(' → ')}`).join(', ');
  return `${perSize.join('; ')}; peak RSS MiB (${rss.sizes.map(millions).join(' → ')}): ${steps} (target flat and < ${RSS_LIMIT_MIB})`;
}
