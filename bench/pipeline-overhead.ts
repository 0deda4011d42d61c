import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { closePgPools, pgPool } from '../lib/db/pg-pools';
import { ensureFlightsTable } from '../lib/data/flights-loader';
import { parsePipelineSpecText, postgresSourceOf } from '../lib/spec/pipeline-spec';
import { connectClient, startTrainingPipeline, watchPipeline } from '../scripts/client/pipeline-client';
import { findRunningStack, startStack, type StackInfo } from '../scripts/stack/stack';
import { WORKER_POOLS, type TrainingPipelineResult } from '../contracts';
import { timelineOf, unionLength } from './activity-timeline';
import { recordResult } from './record';
import { binaryMetricsOf } from '../lib/evaluation/metrics-summary';

/**
 * The whole flights pipeline on a real stack, read back from its Temporal history: how long it
 * took, how much of that some activity was running, and the rest, which is what orchestration
 * costs (workflow tasks, dispatch, hops between steps). Target: orchestration <= 3% of wall time.
 * The run bookkeeping activities (recordRunStarted/Finished) are reported apart.
 *
 * Uses the stack `pipewright up` runs for PIPEWRIGHT_HOME, or starts one. BENCH_ROWS (default
 * 3,000,000) picks the flights table.
 */
const BOOKKEEPING = new Set(['recordRunStarted', 'recordRunFinished']);

/** What one run of the flights pipeline spent: wall time, time some activity ran, and the rest. */
export interface PipelineOverhead {
  result: TrainingPipelineResult;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  bookkeepingMs: number;
  byType: Map<string, { count: number; seconds: number }>;
}

/** Runs the flights spec on `table` against the stack `info` describes, and reads its timeline back from the histories. */
export async function measurePipelineOverhead(info: StackInfo, table: string, rows: number): Promise<PipelineOverhead> {
  const client = await connectClient(info.temporalAddress, info.namespace);
  try {
    await ensureFlightsTable(pgPool(info.databaseUrl), table, rows >= 3_000_000 ? undefined : rows);
    const spec = parsePipelineSpecText(readFileSync(path.join(__dirname, '..', '..', 'examples', 'flights.json'), 'utf8'));
    postgresSourceOf(spec).table = table;

    // Every step computed: a step reused from the cache would hide the orchestration between real steps.
    const handle = await startTrainingPipeline(client, spec, { queuePrefix: info.queuePrefix, reuseSteps: false });
    const result = await watchPipeline(handle, false);
    // The pipeline's own history, plus every run of its training child, whose epochs are activities too.
    const pipeline = timelineOf((await handle.fetchHistory()).events ?? []);
    const spans = [...pipeline.spans];
    for await (const child of client.workflow.list({ query: `WorkflowId = '${result.runId}-train'` })) {
      spans.push(...timelineOf((await client.workflow.getHandle(child.workflowId, child.runId).fetchHistory()).events ?? []).spans);
    }
    const busyMs = unionLength(spans);
    const work = spans.filter((s) => !BOOKKEEPING.has(s.type));
    const byType = new Map<string, { count: number; seconds: number }>();
    for (const s of work) {
      const entry = byType.get(s.type) ?? { count: 0, seconds: 0 };
      entry.count++;
      entry.seconds += (s.endMs - s.startMs) / 1000;
      byType.set(s.type, entry);
    }
    const bookkeepingMs = spans.filter((s) => BOOKKEEPING.has(s.type)).reduce((t, s) => t + s.endMs - s.startMs, 0);
    return { result, wallMs: pipeline.wallMs, busyMs, idleMs: pipeline.wallMs - busyMs, bookkeepingMs, byType };
  } finally {
    await client.connection.close();
  }
}

async function main(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 3_000_000);
  const config = loadConfig();
  let info: StackInfo | undefined = await findRunningStack(config);
  const own = info ? undefined : await startStack(config, { pools: WORKER_POOLS, modelServer: true, log: (l) => console.error(l) });
  info ??= own!.info;
  try {
    const table = rows >= 3_000_000 ? 'flights' : `flights_${rows}`;
    const { result, wallMs, busyMs, idleMs, bookkeepingMs, byType } = await measurePipelineOverhead(info, table, rows);
    console.table([...byType.entries()].map(([type, v]) => ({ activity: type, count: v.count, 'total s': v.seconds.toFixed(2) })));
    const pct = (x: number): string => `${((100 * x) / wallMs).toFixed(1)}%`;
    console.log(
      `wall ${(wallMs / 1000).toFixed(2)} s · some activity running ${(busyMs / 1000).toFixed(2)} s · none running ${(idleMs / 1000).toFixed(2)} s (${pct(idleMs)}) · bookkeeping activities ${(bookkeepingMs / 1000).toFixed(2)} s (${pct(bookkeepingMs)})`,
    );

    await recordResult('pipeline-overhead', {
      rows: result.rows,
      runId: result.runId,
      backend: result.backend,
      auc: binaryMetricsOf(result.metrics).auc,
      wallSeconds: wallMs / 1000,
      busySeconds: busyMs / 1000,
      orchestrationSeconds: idleMs / 1000,
      orchestrationShare: idleMs / wallMs,
      bookkeepingSeconds: bookkeepingMs / 1000,
      stageSeconds: result.stageSeconds,
      activities: Object.fromEntries(byType),
      target: 0.03,
      headline:
        `flights ${result.rows.toLocaleString('en-US')} rows: workflow ${(wallMs / 1000).toFixed(1)} s, no activity running for ${(idleMs / 1000).toFixed(2)} s ` +
        `= ${pct(idleMs)} orchestration (target ≤ 3%), run bookkeeping ${pct(bookkeepingMs)}; AUC ${binaryMetricsOf(result.metrics).auc.toFixed(4)} on ${result.backend}`,
    });
  } finally {
    await closePgPools();
    await own?.stop();
  }
}

// Run as a script; imported by bench/cluster-pipeline-overhead for its measurement.
if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
