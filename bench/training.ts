import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackendChoice } from '../lib/models/backend';
import { modelSpecSchema, type ModelSpec } from '../lib/spec/model-spec';
import { parsePipelineSpec, type PipelineSpec } from '../lib/spec/pipeline-spec';
import { recordResult } from './record';
import type { CaseInput, CaseResult } from './training-case';
import { flightsParquetSpec, trainingData } from './training-data';
import { measureOnStack, type StackRun } from './training-stack';
import { runTorch, torchAvailable, torchVenvPython, type TorchResult, type TorchRun } from './training-torch';

/**
 * Training speed on the flights features, three ways:
 *
 * 1. In process, per TensorFlow.js backend that loads here (each in a child process,
 *    bench/training-case.ts): the pipeline's trainShards task over a whole epoch as one worker,
 *    for logistic regression, the demo's model, mlp [64,32] and wideDeep [64,32], at batch 1024 and
 *    at the demo's batch; samples/s of the training loop and test AUC after the epoch. The data are
 *    the demo's encoded shards, made from the flights Parquet file by bench/training-data.ts.
 * 2. PyTorch on CPU (bench/pytorch/train_flights.py, in the venv of bench/pytorch/setup.sh) on the
 *    same shards: logistic and MLP 64-32-1 at batch 1024, samples/s and test AUC per epoch; the
 *    ratios ours / PyTorch. Skipped, with a note, where the venv is missing.
 * 3. Through Temporal: a stack of its own (BENCH_HOME, ports + BENCH_PORT_OFFSET) with 1 and then
 *    2 gpu processes, the demo pipeline with model.parallelism.workers 1 and 2 and the step cache
 *    off; the train stage's wall time, samples/s, test AUC, and the share of the training child's
 *    wall time outside activities (bench/activity-timeline.ts).
 *
 *   npm run build && node dist/bench/training.js
 *
 * Env: BENCH_SPEC (examples/flights.json), BENCH_PARTS (inprocess,pytorch,temporal),
 * BENCH_BACKENDS (wasm,cpu,webgpu,tensorflow), BENCH_MODELS (logistic,demo,mlp,wideDeep),
 * BENCH_BATCHES (1024 and the spec's), BENCH_MAX_SECONDS of training per in-process case (90; a
 * slower backend trains the batches that fit, marked partial), BENCH_SLOW_BACKEND_CASES (cases
 * for backends other than wasm: "logistic@1024,demo@1024,mlp@1024"; "all" for every one),
 * BENCH_TORCH_THREADS (2,1), BENCH_TORCH_EPOCHS (3), TORCH_VENV, BENCH_STACKS (gpu processes x
 * workers: 1x1,2x2), BENCH_STACK_REPEATS (2: pipelines per case, the fastest
 * reported), BENCH_ROWS (flights rows for the Temporal part; default the whole 3,000,000),
 * BENCH_HOME (~/.cache/pipewright/bench-training-stack: its PostgreSQL keeps the flights table),
 * BENCH_PORT_OFFSET (700), BENCH_CHILD_TIMEOUT_S (600). A run of some BENCH_PARTS only is printed, not
 * recorded, unless BENCH_RECORD=1.
 */

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const list = (name: string, fallback: string): string[] =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
const log = (line: string): void => void process.stderr.write(`[training] ${line}\n`);

const ALL_BACKENDS: BackendChoice[] = ['wasm', 'cpu', 'webgpu', 'tensorflow'];

interface Case {
  /** logistic, demo, mlp or wideDeep: what BENCH_MODELS names. */
  key: string;
  label: string;
  model: ModelSpec;
}

/** `model`: the network as describeModel writes it (PyTorch's runs are matched on it). */
type InProcessRun = CaseResult & { choice: BackendChoice; key: string; model: string };

function describeModel(m: ModelSpec): string {
  const hidden = m.layers?.map((l) => l.units) ?? m.hidden ?? (m.type === 'mlp' ? [32] : []);
  return `${m.type}${hidden.length ? ` [${hidden.join(',')}]` : ''}`;
}

/** The in-process cases: each model at each batch size, one epoch, the spec's learning rate and seed. */
function casesOf(spec: PipelineSpec): Case[] {
  const base = spec.model;
  const batches = [...new Set(list('BENCH_BATCHES', `1024,${base.batchSize}`).map(Number))];
  const like = (m: object): ModelSpec => modelSpecSchema.parse({ learningRate: base.learningRate, seed: base.seed, l2: base.l2, ...m, epochs: 1 });
  const models: Array<{ key: string; model: ModelSpec }> = [
    { key: 'logistic', model: like({ type: 'logistic' }) },
    { key: 'demo', model: { ...base, epochs: 1 } },
    { key: 'mlp', model: like({ type: 'mlp', hidden: [64, 32] }) },
    { key: 'wideDeep', model: like({ type: 'wideDeep', hidden: [64, 32] }) },
  ];
  const wanted = list('BENCH_MODELS', 'logistic,demo,mlp,wideDeep');
  const seen = new Set<string>();
  const out: Case[] = [];
  for (const { key, model } of models.filter((m) => wanted.includes(m.key))) {
    for (const batchSize of batches) {
      const m = { ...model, batchSize };
      const id = JSON.stringify({ ...m, name: undefined });
      if (seen.has(id)) continue; // the demo's model may be one of the others
      seen.add(id);
      out.push({ key, label: key === 'demo' ? `${describeModel(m)} (demo)` : describeModel(m), model: m });
    }
  }
  return out;
}

function runCase(choice: BackendChoice, c: Case, manifest: string, maxSeconds: number, dir: string): Promise<CaseResult | { error: string }> {
  const resultFile = path.join(dir, `${choice}-${c.key}-${c.model.batchSize}.json`);
  const input: CaseInput = { label: c.label, model: c.model, manifest, maxSeconds };
  const timeoutS = num('BENCH_CHILD_TIMEOUT_S', 600);
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [...process.execArgv, path.join(__dirname, 'training-case.js')], {
      env: { ...process.env, PIPEWRIGHT_TF_BACKEND: choice, BENCH_CASE: JSON.stringify(input), BENCH_RESULT_FILE: resultFile },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutS * 1000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        const out = JSON.parse(readFileSync(resultFile, 'utf8')) as { result?: CaseResult; error?: string };
        resolve(out.result ?? { error: out.error ?? 'no result' });
      } catch {
        resolve({ error: signal === 'SIGKILL' ? `timed out after ${timeoutS} s` : `child exited (code ${code}, signal ${signal}) without a result` });
      }
    });
  });
}

async function inProcess(spec: PipelineSpec, manifest: string): Promise<{ runs: InProcessRun[]; unavailable: Array<{ backend: string; error: string }> }> {
  const cases = casesOf(spec);
  const backends = list('BENCH_BACKENDS', ALL_BACKENDS.join(',')) as BackendChoice[];
  for (const b of backends) if (!ALL_BACKENDS.includes(b)) throw new Error(`BENCH_BACKENDS: unknown backend ${b}; use ${ALL_BACKENDS.join(', ')}`);
  const slowCases = list('BENCH_SLOW_BACKEND_CASES', 'logistic@1024,demo@1024,mlp@1024');
  const maxSeconds = num('BENCH_MAX_SECONDS', 90);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-training-'));
  const runs: InProcessRun[] = [];
  const unavailable: Array<{ backend: string; error: string }> = [];
  try {
    for (const choice of backends) {
      const mine = choice === 'wasm' || slowCases.includes('all') ? cases : cases.filter((c) => slowCases.includes(`${c.key}@${c.model.batchSize}`));
      for (const [i, c] of mine.entries()) {
        log(`${choice}: ${c.label}, batch ${c.model.batchSize} ...`);
        const r = await runCase(choice, c, manifest, maxSeconds, dir);
        if ('error' in r) {
          log(`${choice}: ${c.label} failed: ${r.error}`);
          // The first case failing means the backend does not load here: skip its other cases.
          if (i === 0) {
            unavailable.push({ backend: choice, error: r.error });
            break;
          }
          unavailable.push({ backend: `${choice} ${c.label} @${c.model.batchSize}`, error: r.error });
          continue;
        }
        if (choice !== 'wasm' && r.backend !== choice) {
          // initBackend fell back (it never should for an explicit choice, but a run must not be mislabelled).
          unavailable.push({ backend: choice, error: `initBackend chose ${r.backend}` });
          break;
        }
        runs.push({ ...r, choice, key: c.key, model: describeModel(c.model) });
        log(
          `${r.backend}: ${r.label} @${r.batchSize}: ${fmt(r.loopSamplesPerSec)} samples/s (task ${fmt(r.taskSamplesPerSec)}), ` +
            `test AUC ${fmt(r.testAuc, 4)}${r.partial ? ` after ${fmt(r.samples)} rows (partial epoch)` : ''}, cpu/wall ${fmt(r.loopCpuPerWall, 2)}, load ${fmt(r.loadAverage, 1)}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { runs, unavailable };
}

interface TorchSummary {
  threads: number;
  torch: string;
  model: string;
  batch: number;
  /** Median over epochs of train rows / training-loop seconds. */
  samplesPerSec: number;
  /** Over runs of 100 batches (train_flights.py's windows): the median of each epoch's median, and the fastest. */
  medianWindowSamplesPerSec: number | null;
  bestWindowSamplesPerSec: number | null;
  perEpoch: Array<{ epoch: number; samplesPerSec: number; testAuc: number; loadAverage: number; cpuPerWall: number }>;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function summariseTorch(result: TorchResult): TorchSummary[] {
  return result.runs.map((r: TorchRun) => {
    const rates = r.epochs.map((e) => e.trainSamplesPerSec);
    return {
      threads: result.threads,
      torch: result.torch,
      model: r.model === 'mlp' ? `mlp [${r.hidden.join(',')}]` : r.model,
      batch: r.batch,
      samplesPerSec: median(rates)!,
      medianWindowSamplesPerSec: median(r.epochs.flatMap((e) => (e.windowSamplesPerSec ? [e.windowSamplesPerSec.median] : []))),
      bestWindowSamplesPerSec: r.epochs.some((e) => e.windowSamplesPerSec) ? Math.max(...r.epochs.map((e) => e.windowSamplesPerSec?.best ?? 0)) : null,
      perEpoch: r.epochs.map((e) => ({
        epoch: e.epoch,
        samplesPerSec: e.trainSamplesPerSec,
        testAuc: e.testAuc,
        loadAverage: e.loadAverage,
        cpuPerWall: e.trainCpuSeconds / e.trainSeconds,
      })),
    };
  });
}

async function pytorch(spec: PipelineSpec, manifest: string): Promise<{ runs: TorchSummary[]; skipped?: string }> {
  if (!torchAvailable()) {
    const note = `no PyTorch venv at ${torchVenvPython()} (bench/pytorch/setup.sh makes one): PyTorch baseline skipped`;
    console.log(note);
    return { runs: [], skipped: note };
  }
  const runs: TorchSummary[] = [];
  for (const threads of list('BENCH_TORCH_THREADS', '2,1').map(Number)) {
    log(`PyTorch, ${threads} thread${threads === 1 ? '' : 's'} ...`);
    try {
      const result = await runTorch({
        manifest,
        models: ['logistic', 'mlp'],
        hidden: [64, 32],
        epochs: num('BENCH_TORCH_EPOCHS', 3),
        batch: 1024,
        lr: spec.model.learningRate,
        threads,
        seed: spec.model.seed,
        timeoutS: num('BENCH_CHILD_TIMEOUT_S', 600),
      });
      runs.push(...summariseTorch(result));
    } catch (err) {
      log(`PyTorch with ${threads} threads failed: ${(err as Error).message}`);
    }
  }
  return { runs };
}

function parseStacks(): Array<{ gpuProcesses: number; workers: number }> {
  return list('BENCH_STACKS', '1x1,2x2').map((s) => {
    const [p, w] = s.split('x').map(Number);
    if (!(p! >= 1 && w! >= 1)) throw new Error(`BENCH_STACKS: "${s}" is not <gpu processes>x<workers>, e.g. 2x2`);
    return { gpuProcesses: p!, workers: w! };
  });
}

async function temporal(spec: PipelineSpec): Promise<StackRun[]> {
  const stacks = parseStacks();
  const runs: StackRun[] = [];
  for (const processes of [...new Set(stacks.map((s) => s.gpuProcesses))]) {
    const workers = stacks.filter((s) => s.gpuProcesses === processes).map((s) => s.workers);
    runs.push(
      ...(await measureOnStack(spec, processes, workers, {
        home: process.env.BENCH_HOME ?? path.join(os.homedir(), '.cache', 'pipewright', 'bench-training-stack'),
        portOffset: num('BENCH_PORT_OFFSET', 700),
        rows: num('BENCH_ROWS', 3_000_000),
        repeats: num('BENCH_STACK_REPEATS', 2),
        log,
      })),
    );
  }
  return runs;
}

function markdown(
  inputDim: number,
  ours: InProcessRun[],
  torch: TorchSummary[],
  stack: StackRun[],
  ratio: (r: InProcessRun, threads: number) => number | undefined,
): string {
  const lines: string[] = [];
  const threads = [...new Set(torch.map((t) => t.threads))];
  lines.push(
    `| backend | model | batch | samples/s, epoch | samples/s, median window | test AUC, 1 epoch | ${threads.map((t) => `× PyTorch ${t} thr |`).join(' ')} cpu/wall | load |`,
    `|---|---|---|---|---|---|${threads.map(() => '---|').join('')}---|---|`,
  );
  for (const r of ours) {
    const auc = r.partial ? `${fmt(r.testAuc, 4)} (${fmt(r.samples / 1e6, 2)}M rows)` : fmt(r.testAuc, 4);
    const ratios = threads.map((t) => {
      const x = ratio(r, t);
      return x === undefined ? '' : `${fmt(x, 2)}×`;
    });
    lines.push(
      `| ${r.backend} | ${r.label} | ${r.batchSize} | ${fmt(r.loopSamplesPerSec)} | ${r.windowSamplesPerSec ? fmt(r.windowSamplesPerSec.median) : ''} | ${auc} | ${ratios.map((x) => `${x} |`).join(' ')} ${fmt(r.loopCpuPerWall, 2)} | ${fmt(r.loadAverage, 1)} |`,
    );
  }
  for (const t of torch) {
    const aucs = t.perEpoch.map((e) => fmt(e.testAuc, 4)).join(' → ');
    const load = Math.max(...t.perEpoch.map((e) => e.loadAverage));
    const cpu = Math.max(...t.perEpoch.map((e) => e.cpuPerWall));
    lines.push(
      `| PyTorch ${t.torch} CPU, ${t.threads} thr | ${t.model} | ${t.batch} | ${fmt(t.samplesPerSec)} | ${t.medianWindowSamplesPerSec ? fmt(t.medianWindowSamplesPerSec) : ''} | ${aucs} (per epoch) | ${threads.map(() => ' |').join(' ')} ${fmt(cpu, 2)} | ${fmt(load, 1)} |`,
    );
  }
  lines.push('', `Inputs: ${inputDim} wide (dense one-hot equivalent).`);
  if (stack.length) {
    const base = stack.find((s) => s.workers === 1);
    const tries = (s: StackRun): string => (s.tries && s.tries.length > 1 ? ` (${s.tries.map((t) => fmt(t.trainWallSeconds, 1)).join(', ')})` : '');
    lines.push(
      '',
      '| gpu processes | workers | train stage s | samples/s | × 1 worker | test AUC | outside activities | outside trainShards | worker wait | load |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of stack) {
      lines.push(
        `| ${s.gpuProcesses} | ${s.workers} | ${fmt(s.trainWallSeconds, 1)}${tries(s)} | ${fmt(s.samplesPerSec)} | ${base ? `${fmt(s.samplesPerSec / base.samplesPerSec, 2)}×` : ''} | ${fmt(s.testAuc, 4)} | ${fmt(100 * s.outsideActivitiesShare, 1)}% | ${fmt(100 * s.outsideTrainShardsShare, 1)}% | ${fmt(100 * s.workerWaitShare, 1)}% | ${fmt(s.loadAverage, 1)} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const specPath = path.resolve(process.env.BENCH_SPEC ?? path.join(__dirname, '..', '..', 'examples', 'flights.json'));
  const raw = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
  const spec = parsePipelineSpec(raw, specPath);
  const parts = list('BENCH_PARTS', 'inprocess,pytorch,temporal');
  const loadAtStart = os.loadavg();
  log(
    `load average ${loadAtStart.map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores${loadAtStart[0]! > 0.5 ? ': something else is running, figures will be low' : ''}`,
  );

  const data = await trainingData(flightsParquetSpec(raw, spec.source.partitions), { log });
  const manifest = path.join(data.dir, 'training-data.json');
  const inputDim = data.transform.inputDim;

  const ours = parts.includes('inprocess') ? await inProcess(spec, manifest) : { runs: [], unavailable: [] };
  const torch = parts.includes('pytorch') ? await pytorch(spec, manifest) : { runs: [], skipped: 'not asked for (BENCH_PARTS)' };
  const stack = parts.includes('temporal') ? await temporal(spec) : [];

  /** Ours / PyTorch's samples/s at the same model and batch: over whole epochs, and of the median windows (less sensitive to a burst of load). */
  const ratioOf = (r: InProcessRun, threads: number): { epoch: number; window: number | null } | undefined => {
    const t = torch.runs.find((x) => x.threads === threads && x.model === r.model && x.batch === r.batchSize);
    if (!t || r.partial) return undefined;
    const window = r.windowSamplesPerSec && t.medianWindowSamplesPerSec ? r.windowSamplesPerSec.median / t.medianWindowSamplesPerSec : null;
    return { epoch: r.loopSamplesPerSec / t.samplesPerSec, window };
  };
  const ratio = (r: InProcessRun, threads: number): number | undefined => {
    const x = ratioOf(r, threads);
    // Whole epochs: PyTorch's windows leave out its per-epoch shuffle, ours hold our checkpoints.
    return x?.epoch;
  };
  const ratios = ours.runs.flatMap((r) =>
    [...new Set(torch.runs.map((t) => t.threads))].flatMap((threads) => {
      const x = ratioOf(r, threads);
      return x ? [{ backend: r.backend, model: r.label, batch: r.batchSize, torchThreads: threads, epochRatio: x.epoch, medianWindowRatio: x.window }] : [];
    }),
  );
  const table = markdown(inputDim, ours.runs, torch.runs, stack, ratio);
  console.log(`\n${table}\n`);
  for (const u of ours.unavailable) console.log(`not measured: ${u.backend}: ${u.error}`);
  if (torch.skipped) console.log(torch.skipped);

  const loadAtEnd = os.loadavg();
  const part = (model: string, batch: number): string | undefined => {
    const r = ours.runs.find((x) => x.choice === 'wasm' && x.model === model && x.batchSize === batch);
    if (!r) return undefined;
    const x = ratio(r, 2);
    return `${r.label}${batch === 1024 ? '' : ` @${batch}`} ${fmt(r.loopSamplesPerSec)}/s AUC ${fmt(r.testAuc, 3)}${x === undefined ? '' : ` (${fmt(x, 2)}× PyTorch 2 thr)`}`;
  };
  const demo = describeModel(spec.model);
  const headlineModels = [...new Set(['logistic', 'mlp [64,32]', 'wideDeep [64,32]', demo])];
  const one = stack.find((s) => s.workers === 1);
  const two = stack.find((s) => s.workers === 2 && s.gpuProcesses === 2) ?? stack.find((s) => s.workers === 2);
  const headline = [
    `wasm, one epoch in process, batch 1024: ${[...headlineModels.map((m) => part(m, 1024)), spec.model.batchSize === 1024 ? undefined : part(demo, spec.model.batchSize)].filter(Boolean).join(', ')}`,
    one && two
      ? `Temporal, demo ${demo} ×${one.epochs} epochs: 1 worker ${fmt(one.samplesPerSec)}/s AUC ${fmt(one.testAuc, 3)}, 2 workers ${fmt(two.samplesPerSec)}/s (${fmt(two.samplesPerSec / one.samplesPerSec, 2)}×) AUC ${fmt(two.testAuc, 3)}; outside activities ${fmt(100 * one.outsideActivitiesShare, 1)}% / ${fmt(100 * two.outsideActivitiesShare, 1)}%`
      : undefined,
    `load ${fmt(loadAtStart[0]!, 1)} → ${fmt(loadAtEnd[0]!, 1)}`,
  ]
    .filter(Boolean)
    .join('; ');
  console.log(headline);

  // A run of some parts only (a quick check) must not replace the recorded figures of all of them.
  if (parts.length < 3 && process.env.BENCH_RECORD !== '1') {
    console.log(`BENCH_PARTS=${parts.join(',')}: not recorded in bench/results/training.json (BENCH_RECORD=1 records it anyway)`);
    return;
  }
  await recordResult('training', {
    spec: path.relative(path.join(__dirname, '..', '..'), specPath),
    specHash: data.specHash,
    inputDim,
    learningRate: spec.model.learningRate,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    inProcess: ours,
    pytorch: torch,
    ratios,
    temporal: stack,
    markdown: table,
    headline,
  });
}

main().then(
  // Idle task threads (training-data's) must not keep the process alive.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
