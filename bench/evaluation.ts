import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePipelineSpec, type PipelineSpec } from '../lib/spec/pipeline-spec';
import { recordResult } from './record';
import { measureCrossValidation, type CvResult } from './evaluation-cv';
import { cvTable, fmt, headlineOf, rowsTable, searchTable } from './evaluation-report';
import { measureEvaluationRows, type RowsResult } from './evaluation-rows';
import { measureSearch, type SearchBenchResult } from './evaluation-search';
import { withEvaluationStack } from './evaluation-stack';
import { flightsParquetSpec, trainingData } from './training-data';

/**
 * Issue 13's benchmarks: evaluation, cross-validation and search, each against a baseline run in
 * the same process tree.
 *
 * 1. rows: evaluation rows/s on the flights test split (~600k rows of 3M), the demo's encoded shards
 *    made from the Parquet file by bench/training-data.ts (no database). The old single-task
 *    `evaluateModel` in one thread against the pipeline's `evaluateShard` per shard in parallel
 *    threads plus `mergeEvaluation`; both must give the same AUC (bench/evaluation-rows.ts).
 * 2. cv: a stack of its own (bench/evaluation-stack.ts) with BENCH_ROWS of the flights table and the
 *    demo pipeline run once for its dataset; the crossValidate workflow with 5 folds at once against
 *    5 folds one after another (maxParallelFolds 1); the per-fold AUC must agree (bench/evaluation-cv.ts).
 * 3. search: on the same stack and that run's encoded shards, hyperparameterSearch with ASHA against
 *    random search with the same seed (the same trials): trials finished per hour, epochs trained,
 *    best validation metric, and random's best at ASHA's compute (bench/evaluation-search.ts).
 *
 *   npm run -s build && node dist/bench/evaluation.js      # about 10 minutes on 2 cores
 *
 * Env: BENCH_PARTS (rows,cv,search; a run of some parts only is printed, not recorded, unless
 * BENCH_RECORD=1), BENCH_SPEC (examples/flights.json), BENCH_EVAL_REPEATS (3 tries of each
 * evaluation path, the fastest reported), BENCH_EVAL_THREADS (evaluateShard tasks at once: cores,
 * as the eval pool's slots), BENCH_EVAL_TRAIN_BATCHES (200: the scored model's training),
 * BENCH_ROWS (300,000 flights rows on the stack), BENCH_FOLDS (5), BENCH_CV_EPOCHS (the spec's),
 * BENCH_CV_REPEATS (2 runs of each mode, in ABBA order, the fastest reported),
 * BENCH_TRIALS (9), BENCH_TRIAL_PARALLELISM (2), BENCH_MAX_RESOURCE (3 epochs),
 * BENCH_HOME (~/.cache/pipewright/bench-evaluation-stack: its PostgreSQL keeps the table),
 * BENCH_PORT_OFFSET (800: Temporal on 8033, PostgreSQL on 6233).
 */

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const list = (name: string, fallback: string): string[] =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const log = (line: string): void => void process.stderr.write(`[evaluation] ${line}\n`);

/** The stack's spec: the demo's, with validation rows (the search compares trials on them) and BENCH_CV_EPOCHS. */
function stackSpec(spec: PipelineSpec): PipelineSpec {
  const epochs = num('BENCH_CV_EPOCHS', spec.model.epochs);
  return { ...spec, split: { ...spec.split, validationFraction: 0.1 }, model: { ...spec.model, epochs } };
}

async function main(): Promise<void> {
  const specPath = path.resolve(process.env.BENCH_SPEC ?? path.join(__dirname, '..', '..', 'examples', 'flights.json'));
  const raw = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
  const spec = parsePipelineSpec(raw, specPath);
  const parts = list('BENCH_PARTS', 'rows,cv,search');
  const loadAtStart = os.loadavg()[0]!;
  log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} on ${os.cpus().length} cores`,
  );
  const started = performance.now();

  let rows: RowsResult | undefined;
  if (parts.includes('rows')) {
    log('part 1: evaluation rows/s on the flights test split');
    const data = await trainingData(flightsParquetSpec(raw, spec.source.partitions), { log });
    rows = await measureEvaluationRows({
      data,
      model: { ...spec.model, epochs: 1 },
      trainBatches: num('BENCH_EVAL_TRAIN_BATCHES', 200),
      threads: num('BENCH_EVAL_THREADS', os.cpus().length),
      repeats: num('BENCH_EVAL_REPEATS', 3),
      log,
    });
    console.log(`\n${rowsTable(rows)}\n`);
  }

  let cv: CvResult | undefined;
  let search: SearchBenchResult | undefined;
  let stackInfo: { rows: number; pipelineSeconds: number; runId: string } | undefined;
  if (parts.includes('cv') || parts.includes('search')) {
    const stackRows = num('BENCH_ROWS', 300_000);
    await withEvaluationStack(
      stackSpec(spec),
      {
        home: process.env.BENCH_HOME ?? path.join(os.homedir(), '.cache', 'pipewright', 'bench-evaluation-stack'),
        portOffset: num('BENCH_PORT_OFFSET', 800),
        rows: stackRows,
        log,
      },
      async (data) => {
        stackInfo = { rows: data.dataset.rows, pipelineSeconds: data.pipelineSeconds, runId: data.runId };
        if (parts.includes('cv')) {
          log(`part 2: ${num('BENCH_FOLDS', 5)}-fold cross-validation, folds in parallel and one after another`);
          cv = await measureCrossValidation(data, num('BENCH_FOLDS', 5), num('BENCH_CV_REPEATS', 2), log);
          console.log(`\n${cvTable(cv)}\n`);
        }
        if (parts.includes('search')) {
          log('part 3: ASHA against random search');
          search = await measureSearch(data, {
            trials: num('BENCH_TRIALS', 9),
            parallelism: num('BENCH_TRIAL_PARALLELISM', 2),
            maxResource: num('BENCH_MAX_RESOURCE', 3),
            gracePeriod: 1,
            reductionFactor: 3,
            seed: spec.model.seed ?? 1,
            workersPerTrial: 1,
            log,
          });
          console.log(`\n${searchTable(search)}\n`);
          if (!search.sameTrials) log('warning: the two searches sampled different trials');
          if (!search.sameTrajectories) log('warning: a trial reported different metrics in the two searches');
        }
      },
    );
  }

  const loadAtEnd = os.loadavg()[0]!;
  const headline = headlineOf(rows, cv, search, [loadAtStart, loadAtEnd]);
  const seconds = (performance.now() - started) / 1000;
  console.log(`${headline}\n(${fmt(seconds, 0)} s in all)`);
  if (rows && rows.auc.difference !== 0) log(`note: the two evaluation paths' AUC differ by ${rows.auc.difference}`);
  if (cv && cv.maxAucDifference !== 0) log(`note: a fold's AUC differs by ${cv.maxAucDifference} between the two modes`);

  // A run of some parts only (a quick check) must not replace the recorded figures of all of them.
  if (parts.length < 3 && process.env.BENCH_RECORD !== '1') {
    console.log(`BENCH_PARTS=${parts.join(',')}: not recorded in bench/results/evaluation.json (BENCH_RECORD=1 records it anyway)`);
    return;
  }
  await recordResult('evaluation', {
    spec: path.relative(path.join(__dirname, '..', '..'), specPath),
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    seconds,
    rows,
    stack: stackInfo,
    crossValidation: cv,
    search,
    markdown: [rows ? rowsTable(rows) : '', cv ? cvTable(cv) : '', search ? searchTable(search) : ''].filter(Boolean).join('\n\n'),
    headline,
  });
}

main().then(
  // Idle task threads must not keep the process alive.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
