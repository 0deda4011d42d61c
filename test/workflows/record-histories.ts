/**
 * Records the histories the replay test (test/workflows/replay.test.ts) replays: one REAL flights run.
 *
 *   npm run build && node dist/test/workflows/record-histories.js
 *
 * Starts a real stack (`node dist/scripts/cli.js up`: Temporal dev server, embedded PostgreSQL,
 * every pool, the model server) in a fresh temporary PIPEWRIGHT_HOME on its own ports (27233,
 * 28233, 25433, 28501, so it does not collide with a developer's stack or the integration tests),
 * loads the first 20,000 flights into `flights_20000`, runs examples/flights.json on it, and writes
 * the pipeline's history and its training child's history to
 * test/workflows/histories/flights-pipeline.json and flights-train.json; then runs
 * examples/flights-tuned.json (4 trials) and writes its pipeline's, search's and cross-validation's
 * histories to flights-tuned-{pipeline,search,cv}.json. Then stops the stack with
 * SIGINT, as a user would, and removes the temporary home (set PIPEWRIGHT_RECORD_KEEP=1 to keep it).
 *
 * Re-record after a deliberate, versioned change to workflow code; the replay test fails when a
 * change to workflows/ would break runs already in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { connectClient, startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import type { StackInfo } from '../../scripts/stack/stack';
import { binaryMetricsOf } from '../../lib/evaluation/metrics-summary';

const PORTS = { PIPEWRIGHT_TEMPORAL_PORT: '27233', PIPEWRIGHT_TEMPORAL_UI_PORT: '28233', PIPEWRIGHT_POSTGRES_PORT: '25433', PIPEWRIGHT_SERVE_PORT: '28501' };
const TABLE = 'flights_20000';
const ROWS = 20_000;

/** The repository root: the nearest folder above this file with a package.json (works from dist/ and from the sources). */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

interface Up {
  child: ChildProcess;
  home: string;
  logFile: string;
}

async function startStack(root: string): Promise<Up> {
  const cli = path.join(root, 'dist', 'scripts', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first.`);
  const home = mkdtempSync(path.join(os.tmpdir(), 'pipewright-record-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PIPEWRIGHT_HOME: home, ...PORTS };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  delete env.PIPEWRIGHT_SERVE_URL;
  delete env.PIPEWRIGHT_QUEUE_PREFIX;
  const logFile = path.join(home, 'up.log');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [cli, 'up'], { env, stdio: ['ignore', out, out] });
  const stackFile = path.join(home, 'stack.json');
  const deadline = Date.now() + 15 * 60 * 1000;
  while (!existsSync(stackFile)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pipewright up did not come up (exit ${child.exitCode}):\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, home, logFile };
}

async function stopStack({ child, home, logFile }: Up): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    await exited;
    clearTimeout(timer);
  }
  const log = readFileSync(logFile, 'utf8');
  if (!log.includes('Stopped.'))
    console.error(`warning: pipewright up did not stop cleanly (exit ${child.exitCode}, signal ${child.signalCode}):\n${log.slice(-2000)}`);
  if (process.env.PIPEWRIGHT_RECORD_KEEP) console.log(`kept ${home}`);
  else rmSync(home, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const root = repoRoot();
  const outDir = path.join(root, 'test', 'workflows', 'histories');
  const started = Date.now();
  console.log('starting the stack (pipewright up)...');
  const up = await startStack(root);
  try {
    const info = JSON.parse(readFileSync(path.join(up.home, 'stack.json'), 'utf8')) as StackInfo;
    const client = await connectClient(info.temporalAddress, info.namespace);
    try {
      const load = await ensureFlightsTable(pgPool(info.databaseUrl), TABLE, ROWS);
      if (load.rows !== ROWS) throw new Error(`${TABLE} has ${load.rows} rows, expected ${ROWS}`);
      console.log(`loaded ${load.rows} flights into ${TABLE}`);

      const example = JSON.parse(readFileSync(path.join(root, 'examples', 'flights.json'), 'utf8')) as { source: object };
      const spec = parsePipelineSpec({ ...example, source: { ...example.source, table: TABLE } });
      const handle = await startTrainingPipeline(client, spec, { queuePrefix: info.queuePrefix });
      console.log(`running ${handle.workflowId}...`);
      const result = await watchPipeline(handle, false);
      console.log(`done: ${result.rows} rows, auc ${binaryMetricsOf(result.metrics).auc.toFixed(4)}, model v${result.model.version}`);

      const pipelineHistory = await handle.fetchHistory();
      const trainHistory = await client.workflow.getHandle(`${handle.workflowId}-train`).fetchHistory();

      // The tuned example: an ASHA search and cross-validation, children of their own.
      const tunedExample = JSON.parse(readFileSync(path.join(root, 'examples', 'flights-tuned.json'), 'utf8')) as { source: object; tuning: object };
      const tunedSpec = parsePipelineSpec({ ...tunedExample, source: { ...tunedExample.source, table: TABLE }, tuning: { ...tunedExample.tuning, trials: 4 } });
      const tuned = await startTrainingPipeline(client, tunedSpec, { queuePrefix: info.queuePrefix });
      console.log(`running ${tuned.workflowId}...`);
      const tunedResult = await watchPipeline(tuned, false);
      console.log(`done: best trial ${tunedResult.search?.best.trial}, ${tunedResult.crossValidation?.folds} folds`);
      const tunedHistory = await tuned.fetchHistory();
      const searchHistory = await client.workflow.getHandle(`${tuned.workflowId}-search`).fetchHistory();
      const cvHistory = await client.workflow.getHandle(`${tuned.workflowId}-cv`).fetchHistory();

      mkdirSync(outDir, { recursive: true });
      for (const [file, history] of [
        ['flights-pipeline.json', pipelineHistory],
        ['flights-train.json', trainHistory],
        ['flights-tuned-pipeline.json', tunedHistory],
        ['flights-tuned-search.json', searchHistory],
        ['flights-tuned-cv.json', cvHistory],
      ] as const) {
        // The proto3 JSON the Web UI's "Download" and `temporal workflow show -o json` give (@temporalio/common's historyToJSON).
        writeFileSync(path.join(outDir, file), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
        console.log(`wrote ${path.relative(root, path.join(outDir, file))} (${history.events?.length ?? 0} events)`);
      }
    } finally {
      await client.connection.close();
      await closePgPools();
    }
  } finally {
    console.log('stopping the stack (SIGINT)...');
    await stopStack(up);
  }
  console.log(`recorded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
