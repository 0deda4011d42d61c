#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { SpecError } from '../lib/spec/pipeline-spec';
import { cancelCommand } from './commands/cancel';
import { dbCommand } from './commands/db';
import { demoCommand } from './commands/demo';
import { loadCommand } from './commands/load';
import { loadFlightsCommand } from './commands/load-flights';
import { modelsCommand } from './commands/models';
import { reportCommand } from './commands/report';
import { runCommand } from './commands/run';
import { runsCommand } from './commands/runs';
import { schemaCommand } from './commands/schema';
import { statusCommand } from './commands/status';
import { upCommand } from './commands/up';

const USAGE = `pipewright — durable ML pipelines on Temporal

Usage:
  pipewright up                        start Temporal + Web UI, PostgreSQL, all worker pools and the model server
  pipewright run <spec.json> [--limit N] [--no-cache]
                                       validate the spec and run the training pipeline (on a running stack,
                                       TEMPORAL_ADDRESS, or an embedded stack started for the run); steps whose
                                       inputs and code match an earlier run's are reused unless --no-cache
  pipewright status <run-id>           stage, progress and metrics of a run
  pipewright cancel <run-id>           cancel a run: its running steps stop, and it ends CANCELLED
  pipewright runs [pipeline]           the latest runs: status, and the metrics of the label's task or the error
  pipewright models [name]             registered model versions
  pipewright report <run-id>           the run's dataset statistics and validation report (anomalies, drift)
  pipewright schema <pipeline> [--accept <run-id>]
                                       the schema runs are validated against; --accept replaces it with the
                                       one inferred from that run's data, when a change is intended
  pipewright db [--psql]               the PostgreSQL URL (with its password), or psql on it
  pipewright load <file.csv|file.parquet> --table NAME [--key COL] [--replace] [--types a=bigint,b=text]
                 [--max-rejects-fraction F] [--delimiter ,]
                                       load your own file into a new PostgreSQL table (rows that do not fit
                                       go to pipewright_load_rejects with the reason)
  pipewright load-flights [--rows N]   load the vega-datasets flights table into PostgreSQL
  pipewright demo [--once] [--rows N] [--no-cache]
                                       the whole demo (what \`npm start\` runs)

Environment: PIPEWRIGHT_HOME, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, DATABASE_URL, PIPEWRIGHT_SERVE_PORT, ... (see README)`;

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'up':
      return upCommand();
    case 'run':
      return runCommand(arg, { noCache: values['no-cache'] ?? false, ...(values.limit ? { limit: positiveInt(values.limit, '--limit')! } : {}) });
    case 'status':
      return statusCommand(arg);
    case 'cancel':
      return cancelCommand(arg);
    case 'runs':
      return runsCommand(arg);
    case 'models':
      return modelsCommand(arg);
    case 'report':
      return reportCommand(arg);
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
        ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}),
      });
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SpecError) console.error(err.message);
    else console.error(`pipewright: ${(err as Error).message}`);
    process.exit(err instanceof SpecError ? 2 : 1);
  },
);
