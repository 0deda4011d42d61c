import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { describeLabel } from '../../lib/features/transform';
import { modelNameOf, postgresSourceOf } from '../../lib/spec/pipeline-spec';
import { printStackInfo } from '../client/print';
import { curlFor, curlForV2, inferOverV2, predictOverHttp, sampleFlight } from '../client/predict';
import { resolveTarget } from '../client/target';
import { readSpecFile, runOnTarget } from './run';
import { untilSignal } from './up';

export interface DemoOptions {
  once: boolean;
  /** Load only the first N flights (into table flights_N) instead of all 3M. */
  rows?: number;
  /** Compute every step even where an earlier demo run's results would do. */
  noCache?: boolean;
  /** Another spec over the flights table (examples/flights-tuned.json) instead of examples/flights.json. */
  spec?: string;
}

/**
 * `npm start`: the whole demo on embedded defaults. Brings the stack up (or uses a running one),
 * loads the 3M-flight table once, runs examples/flights.json, and answers a prediction for a real
 * flight over HTTP. With --once it then shuts down and exits 0; otherwise it stays up.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const started = Date.now();
  const config = loadConfig();
  const target = await resolveTarget(config, true, (l) => console.log(l));
  try {
    if (target.ownStack) printStackInfo(target.ownStack.info, config.home);
    if (!target.databaseUrl || !target.serveUrl)
      throw new Error('the demo needs DATABASE_URL and a model server (PIPEWRIGHT_SERVE_URL) when TEMPORAL_ADDRESS is set');
    const db = pgPool(target.databaseUrl);
    const table = options.rows ? `flights_${options.rows}` : 'flights';
    console.log(
      `\nLoading ${options.rows ? `the first ${options.rows}` : 'all 3,000,000'} flights from vega-datasets into PostgreSQL table ${table} (once)...`,
    );
    const load = await ensureFlightsTable(db, table, options.rows);
    console.log(load.loaded ? `  loaded ${load.rows} rows in ${load.seconds.toFixed(1)}s` : `  already there: ${load.rows} rows`);

    const spec = await readSpecFile(options.spec ?? path.join(__dirname, '..', '..', '..', 'examples', 'flights.json'));
    postgresSourceOf(spec).table = table;
    const pipelineStarted = Date.now();
    const result = await runOnTarget(target, spec, { reuseSteps: !options.noCache });
    console.log(`  Pipeline wall time ${((Date.now() - pipelineStarted) / 1000).toFixed(1)}s`);

    const model = modelNameOf(spec);
    const { instance, delay } = await sampleFlight(db, table);
    const prediction = await predictOverHttp(target.serveUrl, model, [instance]);
    console.log(`\nPrediction for a real flight ${JSON.stringify(instance)}:`);
    console.log(
      `  P(${describeLabel(spec.label)}) = ${prediction.predictions[0]!.toFixed(4)} from ${model} v${prediction.model_version} (actual delay: ${delay ?? 'unknown'} min)`,
    );
    const v2 = await inferOverV2(target.serveUrl, model, [{ ...instance }]);
    console.log(
      `  KServe V2 /v2/models/${model}/infer: ${v2.outputs.map((o) => `${o.name} = ${JSON.stringify(o.data)}`).join(', ')} from v${v2.model_version}`,
    );
    console.log(
      `\nTry it yourself (TF-Serving V1, then KServe V2):\n  ${curlFor(target.serveUrl, model, instance)}\n  ${curlForV2(target.serveUrl, model, { ...instance })}`,
    );
    console.log(`  Metrics: ${target.serveUrl}/metrics`);
    if (target.uiUrl) console.log(`Web UI: ${target.uiUrl}/namespaces/${target.namespace}/workflows/${result.runId}`);
    console.log(`Demo wall time ${((Date.now() - started) / 1000).toFixed(1)}s`);
    if (!options.once && target.ownStack) {
      console.log('\nThe stack stays up; press Ctrl-C to stop.');
      await untilSignal(target.ownStack);
    }
    return 0;
  } finally {
    await closePgPools();
    if (options.once) await target.ownStack?.stop();
  }
}
