#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { SpecError } from '../lib/spec/pipeline-spec';
import { cancelCommand } from './commands/cancel';
import { dbCommand } from './commands/db';
import { demoCommand } from './commands/demo';
import { driftDemoCommand } from './commands/drift-demo';
import { federatedCommand, siteCommand } from './commands/federated';
import { federatedDemoCommand } from './commands/federated-demo';
import { keysCommand } from './commands/keys';
import { loadCommand } from './commands/load';
import { loadFlightsCommand } from './commands/load-flights';
import { modelsCommand } from './commands/models';
import { alertsCommand, monitorCommand } from './commands/monitor';
import { reportCommand } from './commands/report';
import { rolloutCommand } from './commands/rollout';
import { runCommand } from './commands/run';
import { runsCommand } from './commands/runs';
import { scheduleCommand } from './commands/schedule';
import { schemaCommand } from './commands/schema';
import { statusCommand } from './commands/status';
import { upCommand } from './commands/up';
import { UsageError } from './client/usage-error';

const USAGE = `pipewright — durable ML pipelines on Temporal

Usage:
  pipewright up [--cluster] [--pools all|none|cpu,gpu,...]
                                       start Temporal + Web UI, PostgreSQL, all worker pools and the model server;
                                       --cluster runs the full Temporal server on that PostgreSQL, not the dev server;
                                       --pools picks the pools (none: services only, pools run on other hosts)
  pipewright run <spec.json> [--limit N] [--no-cache]
                                       validate the spec and run the training pipeline (on a running stack,
                                       TEMPORAL_ADDRESS, or an embedded stack started for the run); steps whose
                                       inputs and code match an earlier run's are reused unless --no-cache
  pipewright status <run-id>           stage, progress and metrics of a run
  pipewright cancel <run-id>           cancel a run: its running steps stop, and it ends CANCELLED
  pipewright runs [list] [pipeline]    the latest runs: status, and the metrics of the label's task or the error
  pipewright runs show <run>           one run: status, stages and their seconds, metrics, model version and blessing
  pipewright runs compare <run-a> <run-b>
                                       both runs' metrics with the difference, their spec differences, same data or not
  pipewright models [list] [name]      registered model versions with their aliases, metrics and blessing
  pipewright models show <name> [version|alias]
                                       one version (default: production): metrics, aliases, blessing and its checks,
                                       lineage, artifacts, feature importance, training curves
  pipewright models promote <name> <version> [--alias A] [--reason "..."]
                                       point an alias (default production) at a version; the model server loads a
                                       new production version
  pipewright models rollback <name> [--alias A] [--to V] [--reason "..."]
                                       point the alias back at the version it held before (or at --to)
  pipewright models history <name> [--alias A] [--at 2026-11-30T12:00:00Z]
                                       every alias move: when, who, why; with --at, the version that held the alias
                                       (default production) at that instant and the change that set it
  pipewright drift-demo [--rows N] [--requests 2000]
                                       after the demo: replay flights from the least served airports against the
                                       model server, run the monitor, and follow the retraining it starts to its deploy
  pipewright rollout <model> <version> [--mode canary|shadow] [--share 0.1] [--window 5m] [--min-requests 100]
                 [--max-latency-ratio 2] [--max-error-increase 0.01]
                                       release a registered version: check it answers, send it a canary share of live
                                       requests (or score them beside production in shadow mode), compare error rate,
                                       p99 latency (and shadow predictions) with production, then promote it or roll
                                       it back on its own; the reason goes to the canary alias's history
  pipewright report <run-id> [--out F] the run's dataset statistics and validation report (anomalies, drift) as text,
                                       and the run report as one HTML page: curves, calibration, confusion,
                                       slices, importance, cross-validation, trials (default PIPEWRIGHT_HOME/reports/)
  pipewright schema <pipeline> [--accept <run-id>]
                                       the schema runs are validated against; --accept replaces it with the
                                       one inferred from that run's data, when a change is intended
  pipewright schedule create <name> --cron "0 3 * * *" <spec.json> [--note "..."] [--paused]
                                       retrain on a Temporal Schedule (UTC cron; one run at a time, overlap SKIP)
  pipewright schedule list | describe <name> | pause <name> [--note "..."] | unpause <name> [--note "..."]
  pipewright schedule trigger <name> | delete <name> | backfill <name> --from ISO --to ISO
                                       its next times and recent runs; stop and resume it; one run now; the runs
                                       of a past window now
  pipewright db [--psql]               the PostgreSQL URL (with its password), or psql on it
  pipewright load <file.csv|file.parquet> --table NAME [--key COL] [--replace] [--types a=bigint,b=text]
                 [--max-rejects-fraction F] [--delimiter ,]
                                       load your own file into a new PostgreSQL table (rows that do not fit
                                       go to pipewright_load_rejects with the reason)
  pipewright load-flights [--rows N]   load the vega-datasets flights table into PostgreSQL
  pipewright demo [--once] [--rows N] [--no-cache] [--spec examples/flights-tuned.json]
                                       the whole demo (what \`npm start\` runs); --spec runs another flights spec,
                                       e.g. the one with an ASHA search and 3-fold cross-validation
  pipewright monitor create <model> --every 1h <retrain-spec.json> [--window 60m] [--min-rows N]
                                       check the production version's serving window against its training data
                                       (drift per column; live metric where labels arrived) on a Temporal Schedule;
                                       on an alert, retrain with the spec as <model>-retrain (one at a time)
  pipewright monitor run <model> <retrain-spec.json> [--window 60m] [--min-rows N]
                                       one check now, and its report
  pipewright monitor delete <model>    remove the monitor's schedule
  pipewright alerts [model]            the monitors' alerts: when, model, version, kind, reason, retraining run
  pipewright keys generate             a new payload encryption key (id:base64) for PIPEWRIGHT_PAYLOAD_KEYS
  pipewright site --name <site>        join federated runs as <site>: a worker on the site's own queue, reading the
                                       site's own DATABASE_URL and store; only statistics, weight updates and metric
                                       states go to the coordinator's store (PIPEWRIGHT_FEDERATION_STORE)
  pipewright federated <spec.json>     federated training over the spec's sites: transform agreed from merged
                                       statistics, rounds of FedAvg/FedProx (DP, secure aggregation), metrics merged
  pipewright federated-demo [--rows N] [--spec examples/flights-federated.json]
                                       flights split into three sites by the origin airport's region, each with its
                                       own database, store and worker; the federated model's AUC next to each site
                                       alone and the centralized model, on the same test rows

Environment: PIPEWRIGHT_HOME, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DATABASE_URL, PIPEWRIGHT_SERVE_PORT,
  PIPEWRIGHT_USER (who alias changes are recorded as; default the login name), ... (see README)`;

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      once: { type: 'boolean', default: false },
      rows: { type: 'string' },
      limit: { type: 'string' },
      table: { type: 'string' },
      key: { type: 'string' },
      replace: { type: 'boolean', default: false },
      types: { type: 'string' },
      'max-rejects-fraction': { type: 'string' },
      delimiter: { type: 'string' },
      accept: { type: 'string' },
      psql: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      // models promote / rollback / history
      alias: { type: 'string' },
      reason: { type: 'string' },
      to: { type: 'string' },
      at: { type: 'string' },
      // schedule
      cron: { type: 'string' },
      from: { type: 'string' },
      note: { type: 'string' },
      paused: { type: 'boolean' },
      // report
      out: { type: 'string' },
      // demo
      spec: { type: 'string' },
      // monitor
      every: { type: 'string' },
      window: { type: 'string' },
      'min-rows': { type: 'string' },
      // drift-demo
      requests: { type: 'string' },
      // rollout
      mode: { type: 'string' },
      share: { type: 'string' },
      'min-requests': { type: 'string' },
      'max-latency-ratio': { type: 'string' },
      'max-error-increase': { type: 'string' },
      // up
      cluster: { type: 'boolean', default: false },
      pools: { type: 'string' },
      // site
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    // An unknown flag, or a flag without its value: a usage mistake like any other.
    throw new UsageError((err as Error).message, 'pipewright --help');
  }
  const { positionals, values } = parsed;
  const [command, arg] = positionals;
  const registryFlags = { alias: values.alias, reason: values.reason, to: values.to, at: values.at };
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'site':
      return siteCommand(values.name);
    case 'federated':
      return federatedCommand(arg);
    case 'federated-demo':
      return federatedDemoCommand({ ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}), ...(values.spec ? { spec: values.spec } : {}) });
    case 'up':
      return upCommand({ cluster: values.cluster ?? false, ...(values.pools !== undefined ? { pools: values.pools } : {}) });
    case 'run':
      return runCommand(arg, { noCache: values['no-cache'] ?? false, ...(values.limit ? { limit: positiveInt(values.limit, '--limit')! } : {}) });
    case 'status':
      return statusCommand(arg);
    case 'cancel':
      return cancelCommand(arg);
    case 'runs':
      return runsCommand(positionals.slice(1), registryFlags);
    case 'models':
      return modelsCommand(positionals.slice(1), registryFlags);
    case 'schedule':
      return scheduleCommand(positionals.slice(1), { cron: values.cron, from: values.from, to: values.to, note: values.note, paused: values.paused });
    case 'report':
      return reportCommand(arg, values.out !== undefined ? { out: values.out } : {});
    case 'schema':
      return schemaCommand(arg, { ...(values.accept !== undefined ? { accept: values.accept } : {}) });
    case 'db':
      return dbCommand({ psql: values.psql ?? false });
    case 'load':
      return loadCommand(arg, {
        replace: values.replace ?? false,
        ...(values.table !== undefined ? { table: values.table } : {}),
        ...(values.key !== undefined ? { key: values.key } : {}),
        ...(values.types !== undefined ? { types: values.types } : {}),
        ...(values['max-rejects-fraction'] !== undefined ? { maxRejectsFraction: values['max-rejects-fraction'] } : {}),
        ...(values.delimiter !== undefined ? { delimiter: values.delimiter } : {}),
      });
    case 'load-flights':
      return loadFlightsCommand({ ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}), ...(values.table ? { table: values.table } : {}) });
    case 'demo':
      return demoCommand({
        once: values.once ?? false,
        noCache: values['no-cache'] ?? false,
        ...(values.spec ? { spec: values.spec } : {}),
        ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}),
      });
    case 'monitor':
      return monitorCommand(positionals.slice(1), {
        ...(values.every !== undefined ? { every: values.every } : {}),
        ...(values.window !== undefined ? { window: values.window } : {}),
        ...(values['min-rows'] !== undefined ? { minRows: values['min-rows'] } : {}),
      });
    case 'alerts':
      return alertsCommand(arg);
    case 'keys':
      return keysCommand(positionals.slice(1));
    case 'drift-demo':
      return driftDemoCommand({
        ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}),
        ...(values.requests ? { requests: positiveInt(values.requests, '--requests')! } : {}),
      });
    case 'rollout':
      return rolloutCommand(positionals.slice(1), {
        ...(values.mode !== undefined ? { mode: values.mode } : {}),
        ...(values.share !== undefined ? { share: values.share } : {}),
        ...(values.window !== undefined ? { window: values.window } : {}),
        ...(values['min-requests'] !== undefined ? { minRequests: values['min-requests'] } : {}),
        ...(values['max-latency-ratio'] !== undefined ? { maxLatencyRatio: values['max-latency-ratio'] } : {}),
        ...(values['max-error-increase'] !== undefined ? { maxErrorIncrease: values['max-error-increase'] } : {}),
      });
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`pipewright: ${err.message}\nusage: ${err.usage}`);
      process.exit(2);
    }
    if (err instanceof SpecError) console.error(err.message);
    else console.error(`pipewright: ${(err as Error).message}`);
    process.exit(err instanceof SpecError ? 2 : 1);
  },
);
