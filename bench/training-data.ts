import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EncodedShardRef, ShardRef, TransformRef } from '../contracts/refs';
import { planFileSource } from '../lib/data/files/file-source-plan';
import { flightsParquetPath } from '../lib/data/flights-loader';
import { parsePipelineSpec, type FileSourceSpec, type PipelineSpec } from '../lib/spec/pipeline-spec';
import { runInThread } from '../lib/threads/run-in-thread';
import { codeVersion } from '../lib/cache/code-version';
import { inParallel, measure } from './data-plane-util';
import { fileStoreSettings } from '../lib/artifacts/artifact-store';

/**
 * Encoded shards and a fitted transform for a pipeline spec over the flights Parquet file, made
 * without a database: the pipeline's own ingest (file source), fitTransform and applyTransform,
 * in worker threads as the cpu pool runs them. For training benchmarks, ours and the PyTorch
 * baseline (bench/pytorch/train_flights.py), which then train on exactly the same inputs.
 *
 *   npm run -s build && node dist/bench/training-data.js [--spec examples/flights.json]
 *       [--features '<JSON array>' | --features features.json] [--partitions 4] [--out DIR] [--force]
 *
 * The spec's source is replaced by vega-datasets' flights-3m.parquet with no key: a row is then
 * identified by its row number, 0, 1, 2, … in file order, which is the `id` the demo's flights
 * table gives it, so the train/test split is the demo's (same rows, same seed).
 *
 * Results are cached under DIR (default ~/.cache/pipewright/bench-training): raw shards per set of
 * columns and partitions (raw-<hash>/), encoded shards and transform per spec (<hash>/, with
 * training-data.json: the manifest this prints). Each line of progress goes to stderr; stdout
 * carries the manifest's JSON only.
 */

export interface TrainingData {
  /** The spec the data was made for (source replaced by the Parquet file). */
  spec: PipelineSpec;
  specHash: string;
  /** Folder of this spec's artifacts and manifest. */
  dir: string;
  transform: TransformRef;
  /** Absolute path of the fitted transform JSON (the file behind transform.uri). */
  transformPath: string;
  shards: EncodedShardRef[];
  /** Absolute paths of the encoded shards, in the order of `shards`. */
  shardPaths: string[];
  /** Seconds each stage took when this data was made (ingest 0: the raw shards were cached). */
  seconds: { ingest: number; fit: number; apply: number };
}

export interface TrainingDataOptions {
  /** Raw shards to cut the file into (and threads' worth of encoded shards); default 4, the demo's. */
  partitions?: number;
  /** Cache folder; default ~/.cache/pipewright/bench-training. */
  out?: string;
  /** Threads ingest and apply use at once; default the number of cores. */
  concurrency?: number;
  /** Make everything again even if cached. */
  force?: boolean;
  log?: (line: string) => void;
}

export const DEFAULT_TRAINING_DATA_DIR = path.join(os.homedir(), '.cache', 'pipewright', 'bench-training');

/** Rows per Arrow batch of a raw shard, as the ingest activity writes them. */
const INGEST_BATCH_ROWS = 65_536;

function shortHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function filePath(uri: string): string {
  return fileURLToPath(uri);
}

/** The spec with its source replaced by the flights Parquet file, no key, `partitions` partitions. */
export function flightsParquetSpec(raw: Record<string, unknown>, partitions: number): PipelineSpec {
  return parsePipelineSpec({ ...raw, source: { kind: 'parquet', path: flightsParquetPath(), partitions } });
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

/** Encoded shards and the fitted transform for `spec` (its source must be a file source), cached. */
export async function trainingData(spec: PipelineSpec, options: TrainingDataOptions = {}): Promise<TrainingData> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const out = options.out ?? DEFAULT_TRAINING_DATA_DIR;
  const concurrency = options.concurrency ?? os.cpus().length;
  if (spec.source.kind === 'postgres') throw new Error('trainingData reads a file source; see flightsParquetSpec');
  const source: FileSourceSpec = spec.source;

  // Everything the encoded data depends on; the model does not matter.
  // The code version too: encoded shards change when the transform or the shard layout does.
  const specHash = shortHash({ source, label: spec.label, features: spec.features, split: spec.split, code: codeVersion() });
  const dir = path.join(out, specHash);
  const manifestPath = path.join(dir, 'training-data.json');
  const cached = options.force ? null : readJson<TrainingData>(manifestPath);
  if (cached && existsSync(cached.transformPath) && cached.shardPaths.every((p) => existsSync(p))) {
    log(`training data for spec ${specHash}: cached in ${dir}`);
    return cached;
  }

  const plan = await planFileSource(spec, source);
  const rawDir = path.join(out, `raw-${shortHash({ schema: plan.schema, partitions: plan.partitions })}`);
  const rawManifest = path.join(rawDir, 'shards.json');
  let shards = options.force ? null : readJson<ShardRef[]>(rawManifest);
  let ingestSeconds = 0;
  if (!shards || !shards.every((s) => existsSync(filePath(s.uri)))) {
    log(`ingesting ${source.path} (${plan.rows ?? '?'} rows, ${plan.partitions.length} partitions, ${concurrency} threads) into ${rawDir}`);
    mkdirSync(rawDir, { recursive: true });
    const ingested = await measure(() =>
      inParallel(plan.partitions, concurrency, (partition) =>
        runInThread('ingestPartition', {
          databaseUrl: '',
          artifactStore: fileStoreSettings(rawDir),
          schema: plan.schema,
          partition,
          batchRows: INGEST_BATCH_ROWS,
        }),
      ),
    );
    shards = ingested.value;
    ingestSeconds = ingested.seconds;
    const quarantined = shards.reduce((n, s) => n + s.quarantinedRows, 0);
    log(`  ${shards.reduce((n, s) => n + s.rows, 0)} rows in ${ingestSeconds.toFixed(1)} s${quarantined > 0 ? `, ${quarantined} quarantined` : ''}`);
    writeJsonAtomic(rawManifest, shards);
  } else {
    log(`raw shards: cached in ${rawDir}`);
  }

  mkdirSync(dir, { recursive: true });
  log(`fitting the transform of spec ${specHash}`);
  const fitted = await measure(() => runInThread('fitTransform', { artifactStore: fileStoreSettings(dir), spec, shards }));
  const transform = fitted.value;
  log(`  input width ${transform.inputDim}, ${transform.trainRows} train rows, ${fitted.seconds.toFixed(1)} s`);
  const applied = await measure(() =>
    inParallel(shards, concurrency, (shard) => runInThread('applyTransform', { artifactStore: fileStoreSettings(dir), transform, shard })),
  );
  log(`  applied in ${applied.seconds.toFixed(1)} s`);

  const data: TrainingData = {
    spec,
    specHash,
    dir,
    transform,
    transformPath: filePath(transform.uri),
    shards: applied.value,
    shardPaths: applied.value.map((s) => filePath(s.uri)),
    seconds: { ingest: ingestSeconds, fit: fitted.seconds, apply: applied.seconds },
  };
  writeJsonAtomic(manifestPath, data);
  return data;
}

/** `--features` takes a JSON array, inline or in a file. */
function readFeatures(arg: string): unknown {
  const text = arg.trimStart().startsWith('[') ? arg : readFileSync(arg, 'utf8');
  const value: unknown = JSON.parse(text);
  const features = Array.isArray(value) ? value : (value as { features?: unknown }).features;
  if (!Array.isArray(features)) throw new Error('--features: give a JSON array of features (or a spec file with one)');
  return features;
}

function parseArgs(argv: string[]): { specPath: string; features: unknown; options: TrainingDataOptions } {
  let specPath = path.join(__dirname, '..', '..', 'examples', 'flights.json');
  let features: unknown;
  const options: TrainingDataOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--spec') specPath = value();
    else if (arg === '--features') features = readFeatures(value());
    else if (arg === '--partitions') options.partitions = Number(value());
    else if (arg === '--out') options.out = value();
    else if (arg === '--concurrency') options.concurrency = Number(value());
    else if (arg === '--force') options.force = true;
    else throw new Error(`unknown argument ${arg}; see the comment at the top of bench/training-data.ts`);
  }
  return { specPath, features, options };
}

async function main(): Promise<void> {
  const { specPath, features, options } = parseArgs(process.argv.slice(2));
  const raw = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
  if (features !== undefined) raw.features = features;
  const spec = flightsParquetSpec(raw, options.partitions ?? 4);
  const data = await trainingData(spec, options);
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(data)}\n`, () => resolve()));
}

if (require.main === module) {
  main().then(
    // Idle task threads must not decide when the process ends.
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
