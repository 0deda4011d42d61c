import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKER_POOLS } from '../contracts';
import { closePgPools } from '../lib/db/pg-pools';
import { binaryMetricsOf } from '../lib/evaluation/metrics-summary';
import { startStack, type Stack } from '../scripts/stack/stack';
import { benchStackConfig } from './bench-stack-config';
import { measurePipelineOverhead, type PipelineOverhead } from './pipeline-overhead';
import { recordResult } from './record';

/**
 * The flights pipeline's orchestration overhead (wall time during which no activity runs) on the
 * full Temporal cluster against the CLI dev server, in the same run. Two stacks with every pool
 * share one PostgreSQL (the cluster stack's embedded one, so the flights table loads once) and run
 * the pipeline in turn, BENCH_ROUNDS (2) times each, every step computed (no step cache). Only one
 * pipeline runs at a time; the idle stack's pools wait on their own server.
 *
 * BENCH_ROWS (default 3,000,000) picks the flights table.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 3_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const KINDS = ['dev', 'cluster'] as const;
type Kind = (typeof KINDS)[number];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const homes = { dev: mkdtempSync(path.join(os.tmpdir(), 'pw-bench-dev-')), cluster: mkdtempSync(path.join(os.tmpdir(), 'pw-bench-cluster-')) };
  const stacks: Partial<Record<Kind, Stack>> = {};
  const log = (line: string): void => console.error(line);
  try {
    stacks.cluster = await startStack(benchStackConfig(homes.cluster, 1100, { PIPEWRIGHT_TEMPORAL_CLUSTER: 'on' }), {
      pools: WORKER_POOLS,
      modelServer: true,
      log,
    });
    stacks.dev = await startStack(benchStackConfig(homes.dev, 1200, { PIPEWRIGHT_TEMPORAL_CLUSTER: 'off', DATABASE_URL: stacks.cluster.info.databaseUrl }), {
      pools: WORKER_POOLS,
      modelServer: true,
      log,
    });
    const table = ROWS >= 3_000_000 ? 'flights' : `flights_${ROWS}`;
    const runs: Record<Kind, PipelineOverhead[]> = { dev: [], cluster: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of KINDS) {
        const run = await measurePipelineOverhead(stacks[kind]!.info, table, ROWS);
        runs[kind].push(run);
        console.log(
          `round ${round + 1} ${kind.padEnd(7)} wall ${(run.wallMs / 1000).toFixed(2)} s · no activity running ${(run.idleMs / 1000).toFixed(2)} s (${((100 * run.idleMs) / run.wallMs).toFixed(1)}%)`,
        );
      }
    }
    const summarise = (kind: Kind) => {
      const rs = runs[kind];
      return {
        wallSeconds: median(rs.map((r) => r.wallMs / 1000)),
        orchestrationSeconds: median(rs.map((r) => r.idleMs / 1000)),
        orchestrationShare: median(rs.map((r) => r.idleMs / r.wallMs)),
        auc: binaryMetricsOf(rs[0]!.result.metrics).auc,
        rounds: rs.map((r) => ({
          runId: r.result.runId,
          wallSeconds: r.wallMs / 1000,
          orchestrationSeconds: r.idleMs / 1000,
          stageSeconds: r.result.stageSeconds,
          // Per activity type, its count and summed seconds: where a difference in wall time comes from.
          activities: Object.fromEntries(r.byType),
        })),
      };
    };
    const summary = { dev: summarise('dev'), cluster: summarise('cluster') };
    console.table(
      KINDS.map((kind) => ({
        temporal: kind === 'dev' ? 'CLI dev server (SQLite)' : 'cluster (server on PostgreSQL)',
        'wall s': summary[kind].wallSeconds.toFixed(2),
        'orchestration s': summary[kind].orchestrationSeconds.toFixed(2),
        share: `${(100 * summary[kind].orchestrationShare).toFixed(1)}%`,
      })),
    );
    const ratio = summary.cluster.wallSeconds / summary.dev.wallSeconds;
    await recordResult('cluster-pipeline-overhead', {
      rows: ROWS,
      rounds: ROUNDS,
      ...summary,
      clusterWallOverDev: ratio,
      target: 0.03,
      headline:
        `flights ${ROWS.toLocaleString('en-US')} rows, median of ${ROUNDS}: cluster ${summary.cluster.wallSeconds.toFixed(1)} s with ${(100 * summary.cluster.orchestrationShare).toFixed(1)}% orchestration, ` +
        `dev server ${summary.dev.wallSeconds.toFixed(1)} s with ${(100 * summary.dev.orchestrationShare).toFixed(1)}%; cluster wall ${ratio.toFixed(2)}x the dev server's (target ≤ 3% orchestration)`,
    });
  } finally {
    await closePgPools();
    await stacks.dev?.stop();
    await stacks.cluster?.stop();
    for (const home of Object.values(homes)) rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
