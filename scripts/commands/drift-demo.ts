import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { ident } from '../../lib/db/sql';
import { parseMonitorSpec } from '../../lib/monitoring/monitor-spec';
import { productionVersion } from '../../lib/registry/model-registry';
import { modelNameOf, postgresSourceOf } from '../../lib/spec/pipeline-spec';
import type { trainingPipeline } from '../../workflows';
import { connectClient, watchPipeline, webUiLink } from '../client/pipeline-client';
import { printResult } from '../client/print';
import { resolveTarget } from '../client/target';
import { runMonitorOnce } from './monitor';
import { readSpecFile } from './run';

/** Airports the replayed traffic comes from: the least served ones, a mix the model rarely saw. */
const SHIFTED_AIRPORTS = 60;
const CONCURRENCY = 8;

/**
 * `pipewright drift-demo`: after `npm start`, replays flights from a shifted mix of airports (the
 * least served ones) against the model server, then runs the monitor once. The serving window's
 * origin distribution is far from training's, so the monitor records an alert and starts the
 * retraining pipeline (`flights-retrain`), which is evaluated, blessed against production and
 * deployed; the command follows it to the end and shows the version that now serves.
 */
export async function driftDemoCommand(options: { rows?: number; requests?: number }): Promise<number> {
  const requests = options.requests ?? 2000;
  const target = await resolveTarget(loadConfig(), true, (l) => console.log(l));
  try {
    if (!target.databaseUrl || !target.serveUrl) throw new Error('the drift demo needs the stack of `pipewright up` (PostgreSQL and the model server)');
    const db = pgPool(target.databaseUrl);
    const spec = await readSpecFile(path.join(__dirname, '..', '..', '..', 'examples', 'flights.json'));
    const table = options.rows ? `flights_${options.rows}` : 'flights';
    postgresSourceOf(spec).table = table;
    const model = modelNameOf(spec);
    const before = await productionVersion(db, model);
    if (!before)
      throw new Error(
        `${model} has no production version to monitor: run \`npm start\` (or \`pipewright demo --once${options.rows ? ` --rows ${options.rows}` : ''}\`) first`,
      );

    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT to_char(date, 'YYYY-MM-DD"T"HH24:MI:SS') AS date, distance, origin, destination FROM ${ident(table)}
        WHERE origin IN (SELECT origin FROM ${ident(table)} GROUP BY origin ORDER BY count(*), origin LIMIT ${SHIFTED_AIRPORTS})
        ORDER BY id LIMIT $1`,
      [requests],
    );
    console.log(
      `Replaying ${rows.length} flights from the ${SHIFTED_AIRPORTS} least served airports against ${target.serveUrl} (${model} v${before.version})...`,
    );
    const statuses = await replay(`${target.serveUrl}/v1/models/${model}:predict`, rows);
    console.log(`  answers: ${[...statuses].map(([code, n]) => `${n} × ${code}`).join(', ')}`);
    // The server writes its prediction log in batches every quarter second.
    await new Promise((r) => setTimeout(r, 1500));

    console.log(`\nMonitoring ${model}: the last 10 minutes of serving against its training statistics...`);
    const monitor = parseMonitorSpec({ model, retrain: spec, windowMinutes: 10, minRows: Math.min(500, rows.length) });
    const client = await connectClient(target.temporalAddress, target.namespace);
    try {
      const result = await runMonitorOnce(client, target, monitor);
      if (result.retrain.status === 'not_needed') {
        console.log('No breach: nothing to retrain.');
        return 1;
      }
      console.log(`\nFollowing the retraining run ${result.retrain.workflowId} (on a table that has not changed, its steps may come from the step cache):`);
      const handle = client.workflow.getHandle<typeof trainingPipeline>(result.retrain.workflowId);
      printResult(await watchPipeline(handle), webUiLink(target.uiUrl, target.namespace, result.retrain.workflowId));
      const after = await productionVersion(db, model);
      console.log(`\n${model}: production was v${before.version}, is now v${after?.version ?? 'none'}; \`pipewright alerts ${model}\` lists the alert.`);
      return 0;
    } finally {
      await client.connection.close();
    }
  } finally {
    await closePgPools();
    await target.ownStack?.stop();
  }
}

/** One instance per request, CONCURRENCY at a time; the count of each status code. */
async function replay(url: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const row = rows[next++];
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [row] }) });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}
