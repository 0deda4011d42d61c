import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startStack, type Stack } from '../scripts/stack/stack';
import { benchStackConfig } from './bench-stack-config';
import { recordResult } from './record';

/**
 * Orchestration round trips on the full Temporal cluster (`up --cluster`: the server on
 * PostgreSQL) against the CLI dev server (SQLite), in the same run on the same machine: a workflow
 * started and awaited by a client, its Worker in this process, one at a time and with 16 in
 * flight. Two workflows: one that returns at once, and one that runs one trivial activity. Both
 * stacks (no pools, no model server) run side by side and the measurements alternate between them,
 * BENCH_ROUNDS times, so that whatever else loads the machine weighs on both alike; each figure is
 * the median round's rate, latencies are pooled over the rounds.
 *
 * Per round and stack: BENCH_SEQUENTIAL (60) workflows one at a time, BENCH_CONCURRENT (240) at
 * BENCH_CONCURRENCY (16) in flight; BENCH_ROUNDS (3); BENCH_WARMUP (30) first.
 */
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 60);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 240);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 30);
const TASK_QUEUE = 'bench-cluster-orchestration';
const WORKFLOWS = ['benchEmpty', 'benchOneActivity'] as const;
const MODES = ['sequential', 'concurrent'] as const;
const KINDS = ['dev', 'cluster'] as const;
type WorkflowName = (typeof WORKFLOWS)[number];
type Mode = (typeof MODES)[number];
type Kind = (typeof KINDS)[number];

interface Measured {
  /** Workflows per second of the median round. */
  perSecond: number;
  rounds: number[];
  p50Ms: number;
  p99Ms: number;
}

interface Running {
  kind: Kind;
  home: string;
  stack: Stack;
  client: Client;
  nativeConnection: NativeConnection;
  worker: Worker;
  running: Promise<void>;
  upSeconds: number;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** `count` round trips, `concurrency` at a time: workflows per second over the batch, and each one's latency. */
async function roundTrips(
  client: Client,
  workflow: WorkflowName,
  count: number,
  concurrency: number,
  tag: string,
): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await client.workflow.execute(workflow, { taskQueue: TASK_QUEUE, workflowId: `${tag}-${i}`, args: [] });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { perSecond: count / ((performance.now() - started) / 1000), latencies };
}

async function startOne(kind: Kind, portOffset: number, bundle: WorkflowBundleWithSourceMap): Promise<Running> {
  const home = mkdtempSync(path.join(os.tmpdir(), `pipewright-bench-${kind}-`));
  const config = benchStackConfig(home, portOffset, { PIPEWRIGHT_TEMPORAL_CLUSTER: kind === 'cluster' ? 'on' : 'off' });
  const upStarted = performance.now();
  const stack = await startStack(config, { pools: [], modelServer: false, log: (l) => console.error(`[${kind}] ${l}`) });
  const upSeconds = (performance.now() - upStarted) / 1000;
  const address = stack.info.temporalAddress;
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), namespace: stack.info.namespace });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: stack.info.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: bundle,
    activities: { benchNoop: async () => 1 },
  });
  return { kind, home, stack, client, nativeConnection, worker, running: worker.run(), upSeconds };
}

async function stopOne(r: Running): Promise<void> {
  r.worker.shutdown();
  await r.running;
  await r.client.connection.close();
  await r.nativeConnection.close();
  await r.stack.stop();
  rmSync(r.home, { recursive: true, force: true });
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } } });
  const loadBefore = os.loadavg()[0]!;
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./cluster-orchestration-workflows'), logger: new DefaultLogger('WARN') });
  // Ports far from the default, integration and cluster-test stacks'.
  const stacks: Running[] = [];
  try {
    stacks.push(await startOne('dev', 3000, bundle));
    stacks.push(await startOne('cluster', 3050, bundle));
    const tag = Date.now();
    for (const s of stacks) for (const workflow of WORKFLOWS) await roundTrips(s.client, workflow, WARMUP, 4, `${tag}-${workflow}-warmup`);

    const rates = new Map<string, number[]>();
    const latencies = new Map<string, number[]>();
    const key = (kind: Kind, workflow: WorkflowName, mode: Mode): string => `${kind}/${workflow}/${mode}`;
    for (let round = 0; round < ROUNDS; round++) {
      for (const workflow of WORKFLOWS) {
        for (const mode of MODES) {
          // Alternate which stack goes first.
          for (const s of round % 2 === 0 ? stacks : [...stacks].reverse()) {
            const [count, concurrency] = mode === 'sequential' ? [SEQUENTIAL, 1] : [CONCURRENT, CONCURRENCY];
            const r = await roundTrips(s.client, workflow, count, concurrency, `${tag}-${workflow}-${mode}-${round}`);
            const k = key(s.kind, workflow, mode);
            rates.set(k, [...(rates.get(k) ?? []), r.perSecond]);
            latencies.set(k, [...(latencies.get(k) ?? []), ...r.latencies]);
            console.log(`round ${round + 1} ${s.kind.padEnd(7)} ${workflow.padEnd(16)} ${mode.padEnd(10)} ${r.perSecond.toFixed(1)}/s`);
          }
        }
      }
    }
    const measured = (kind: Kind, workflow: WorkflowName, mode: Mode): Measured => {
      const rounds = rates.get(key(kind, workflow, mode))!;
      const all = [...latencies.get(key(kind, workflow, mode))!].sort((a, b) => a - b);
      return { perSecond: [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!, rounds, p50Ms: quantile(all, 0.5), p99Ms: quantile(all, 0.99) };
    };
    const results = Object.fromEntries(
      KINDS.map((kind) => [kind, Object.fromEntries(WORKFLOWS.map((w) => [w, Object.fromEntries(MODES.map((m) => [m, measured(kind, w, m)]))]))]),
    ) as Record<Kind, Record<WorkflowName, Record<Mode, Measured>>>;
    const rows = WORKFLOWS.flatMap((workflow) =>
      MODES.map((mode) => {
        const d = results.dev[workflow][mode];
        const c = results.cluster[workflow][mode];
        return {
          workflow,
          mode: mode === 'sequential' ? '1 at a time' : `${CONCURRENCY} in flight`,
          'dev /s': d.perSecond.toFixed(1),
          'cluster /s': c.perSecond.toFixed(1),
          'cluster ÷ dev': (c.perSecond / d.perSecond).toFixed(2),
          'dev p50/p99 ms': `${d.p50Ms.toFixed(0)} / ${d.p99Ms.toFixed(0)}`,
          'cluster p50/p99 ms': `${c.p50Ms.toFixed(0)} / ${c.p99Ms.toFixed(0)}`,
        };
      }),
    );
    console.table(rows);
    const loadAfter = os.loadavg()[0]!;
    const upSeconds = Object.fromEntries(stacks.map((s) => [s.kind, s.upSeconds]));
    console.log(
      `up (fresh homes; the cluster's includes its schema setup): dev server ${upSeconds.dev!.toFixed(1)} s, cluster ${upSeconds.cluster!.toFixed(1)} s`,
    );
    console.log(`load average (1 min) ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)} on ${os.cpus().length} cores`);
    const ratio = (w: WorkflowName, m: Mode): string => (results.cluster[w][m].perSecond / results.dev[w][m].perSecond).toFixed(2);
    const rate = (k: Kind, w: WorkflowName, m: Mode): string => results[k][w][m].perSecond.toFixed(0);
    await recordResult('cluster-orchestration', {
      sequential: SEQUENTIAL,
      concurrent: CONCURRENT,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      results,
      upSeconds,
      rows,
      load: { before: loadBefore, after: loadAfter },
      headline:
        `workflow round trips/s, cluster on PostgreSQL ÷ dev server on SQLite, median of ${ROUNDS} alternating rounds: ` +
        `empty ${ratio('benchEmpty', 'sequential')}× one at a time (${rate('cluster', 'benchEmpty', 'sequential')} vs ${rate('dev', 'benchEmpty', 'sequential')}), ` +
        `${ratio('benchEmpty', 'concurrent')}× at ${CONCURRENCY} in flight (${rate('cluster', 'benchEmpty', 'concurrent')} vs ${rate('dev', 'benchEmpty', 'concurrent')}); ` +
        `one activity ${ratio('benchOneActivity', 'sequential')}× and ${ratio('benchOneActivity', 'concurrent')}×; ` +
        `client, worker and both servers on the same cores, load ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
    });
  } finally {
    for (const s of stacks.reverse()) await stopOne(s).catch((err: unknown) => console.error(`stopping the ${s.kind} stack: ${(err as Error).message}`));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
