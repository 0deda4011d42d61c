#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { SpecError } from '../lib/spec/pipeline-spec';
import { cancelCommand } from './commands/cancel';
import { demoCommand } from './commands/demo';
import { loadFlightsCommand } from './commands/load-flights';
import { modelsCommand } from './commands/models';
import { runCommand } from './commands/run';
import { statusCommand } from './commands/status';
import { upCommand } from './commands/up';

const USAGE = `pipewright — durable ML pipelines on Temporal

Usage:
  pipewright up                        start Temporal + Web UI, PostgreSQL, all worker pools and the model server
  pipewright run <spec.json> [--limit N]
                                       validate the spec and run the training pipeline (on a running stack,
                                       TEMPORAL_ADDRESS, or an embedded stack started for the run)
  pipewright status <run-id>           stage, progress and metrics of a run
  pipewright cancel <run-id>           cancel a run: its running steps stop, and it ends CANCELLED
  pipewright models [name]             registered model versions
  pipewright load-flights [--rows N]   load the vega-datasets flights table into PostgreSQL
  pipewright demo [--once] [--rows N]  the whole demo (what \`npm start\` runs)

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
      return runCommand(arg, { ...(values.limit ? { limit: positiveInt(values.limit, '--limit')! } : {}) });
    case 'status':
      return statusCommand(arg);
    case 'cancel':
      return cancelCommand(arg);
    case 'models':
      return modelsCommand(arg);
    case 'load-flights':
      return loadFlightsCommand({ ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}), ...(values.table ? { table: values.table } : {}) });
    case 'demo':
      return demoCommand({ once: values.once ?? false, ...(values.rows ? { rows: positiveInt(values.rows, '--rows')! } : {}) });
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
