import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkCanMakeHosts } from '../test/cluster/network-hosts';
import { MultiHostStack } from '../test/cluster/multi-host-stack';
import { flightsSpec } from '../test/integration/stack';
import { recordResult } from './record';

/**
 * The flights pipeline with its pools on two hosts against one, in the same run (needs root: the
 * hosts are network namespaces on this machine, as in test/cluster/multi-host.test.ts). A services
 * host runs `pipewright up --cluster --pools none`; `pool-a` and `pool-b` run the five pool
 * processes each (one gpu process per host). Rounds alternate: pools on pool-a only, then on both
 * (pool-b's pools are stopped and started again between), BENCH_REPEATS (2) times; each run is
 * `pipewright run --no-cache` of the demo's model (MLP [64,32], 2 epochs, 2 data-parallel workers)
 * on a BENCH_ROWS (3,000,000) row flights table. Reported: the pipeline's wall time and its training
 * child's, read from Temporal (start to close), best and every try, and each stage's seconds as the
 * run printed them.
 *
 * Every host shares this machine's cores: two hosts here do not bring a second machine's CPUs, so
 * what the ratio shows is what spreading the pools costs or gains on the same cores (two gpu
 * processes train the two workers' shares side by side instead of one after the other).
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 3_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const TABLE = `mh_bench_${ROWS}`;
const MODEL = 'flights_multihost_bench';

interface Timed {
  hosts: 1 | 2;
  runId: string;
  pipelineSeconds: number;
  trainSeconds: number;
  /** Each stage's seconds, from the run's summary (`Stages   ingest 1.3s · validate 0.3s · ...`). */
  stages: Record<string, number>;
}

async function main(): Promise<void> {
  checkCanMakeHosts();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-multi-host-'));
  const started = Date.now();
  const stack = MultiHostStack.create({
    dir,
    tag: `mb${process.pid % 1000}`,
    octet: 250 + (process.pid % 5),
    poolHosts: ['pool-a', 'pool-b'],
    ports: { temporal: 31233, ui: 38233, postgres: 35433, serve: 38501, s3: 39400 },
    table: TABLE,
    rows: ROWS,
    log: (line) => console.log(line),
  });
  const spec = flightsSpec(TABLE, { name: MODEL });
  const timed: Timed[] = [];
  try {
    await stack.start();
    console.log(`services host up and ${ROWS.toLocaleString('en-US')} rows loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await stack.startPools('pool-a');
    // A first run warms the pools (workflow bundle, TensorFlow.js backend) and is not counted.
    await runOnce(stack, spec, 1);
    for (let i = 0; i < REPEATS; i++) {
      timed.push(await runOnce(stack, spec, 1));
      await stack.startPools('pool-b');
      timed.push(await runOnce(stack, spec, 2));
      await stack.stopPools('pool-b');
    }
  } catch (err) {
    console.error(stack.logTails());
    throw err;
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const of = (hosts: 1 | 2): Timed[] => timed.filter((t) => t.hosts === hosts);
  const best = (list: Timed[], key: 'pipelineSeconds' | 'trainSeconds'): number => Math.min(...list.map((t) => t[key]));
  const summary = ([1, 2] as const).map((hosts) => ({
    hosts,
    pipelineSeconds: best(of(hosts), 'pipelineSeconds'),
    trainSeconds: best(of(hosts), 'trainSeconds'),
    tries: of(hosts).map((t) => ({ pipeline: round(t.pipelineSeconds), train: round(t.trainSeconds), stages: t.stages })),
  }));
  const [one, two] = summary as [(typeof summary)[number], (typeof summary)[number]];
  const speedup = one.pipelineSeconds / two.pipelineSeconds;
  const trainSpeedup = one.trainSeconds / two.trainSeconds;
  console.table(
    summary.map((s) => ({
      'pool hosts': s.hosts,
      'pipeline s (best)': s.pipelineSeconds.toFixed(1),
      'train s (best)': s.trainSeconds.toFixed(1),
      tries: s.tries.map((t) => `${t.pipeline}/${t.train}`).join(', '),
    })),
  );
  console.log(`two pool hosts / one: pipeline ${speedup.toFixed(2)}× as fast, training ${trainSpeedup.toFixed(2)}×`);
  await recordResult('multi-host', {
    rows: ROWS,
    repeats: REPEATS,
    spec: { model: spec.model },
    oneHost: one,
    twoHosts: two,
    speedup,
    trainSpeedup,
    headline:
      `flights ${ROWS.toLocaleString('en-US')} rows, pools on 2 hosts (network namespaces, same 2 cores) against 1: pipeline ${two.pipelineSeconds.toFixed(1)} s ` +
      `against ${one.pipelineSeconds.toFixed(1)} s (${speedup.toFixed(2)}×), training ${two.trainSeconds.toFixed(1)} s against ${one.trainSeconds.toFixed(1)} s (${trainSpeedup.toFixed(2)}×)`,
  });
}

/** One `pipewright run --no-cache`, its wall time and its training child's, from Temporal. */
async function runOnce(stack: MultiHostStack, spec: ReturnType<typeof flightsSpec>, hosts: 1 | 2): Promise<Timed> {
  const run = stack.run(spec);
  const runId = await run.workflowId;
  const code = await run.exited;
  if (code !== 0) throw new Error(`run ${runId} on ${hosts} pool host(s) ended with ${code}; see ${run.logFile}`);
  const seconds = async (workflowId: string): Promise<number> => {
    const info = (await stack.describe(workflowId)).workflowExecutionInfo;
    if (!info?.startTime || !info.closeTime) throw new Error(`${workflowId} has no start or close time`);
    return (Date.parse(info.closeTime) - Date.parse(info.startTime)) / 1000;
  };
  const stagesLine = /^\s*Stages\s+(.*)$/m.exec(readFileSync(run.logFile, 'utf8'))?.[1] ?? '';
  const stages = Object.fromEntries([...stagesLine.matchAll(/([a-z]+) ([\d.]+)s/g)].map((m) => [m[1]!, Number(m[2])]));
  const timed: Timed = { hosts, runId, pipelineSeconds: await seconds(runId), trainSeconds: await seconds(`${runId}-train`), stages };
  console.log(
    `${hosts} pool host(s): ${runId} pipeline ${timed.pipelineSeconds.toFixed(1)} s, training ${timed.trainSeconds.toFixed(1)} s (stages: ${stagesLine || '?'})`,
  );
  return timed;
}

const round = (x: number): number => Math.round(x * 10) / 10;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
