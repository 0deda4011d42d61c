import { loadConfig, type PipewrightConfig } from '../../lib/config';
import { closePgPools, pgPool } from '../../lib/db/pg-pools';
import { PipelineInputError } from '../../lib/errors';
import { loadFile, type LoadFileResult } from '../../lib/data/load/load-file';
import { parseTypeOverrides } from '../../lib/data/load/sql-types';
import { resolveTarget } from '../client/target';

export interface LoadCommandOptions {
  table?: string;
  key?: string;
  replace?: boolean;
  types?: string;
  maxRejectsFraction?: string;
  delimiter?: string;
}

export const LOAD_USAGE =
  'pipewright load <file.csv|file.parquet> --table NAME [--key COL] [--replace] [--types a=bigint,b=text] [--max-rejects-fraction F] [--delimiter ,]';

/** The database to load into: DATABASE_URL when set (no Temporal needed to load data), else the running stack's. */
export async function loadDatabaseUrl(config: PipewrightConfig): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  const target = await resolveTarget(config, false, () => undefined);
  if (!target.databaseUrl) throw new Error('set DATABASE_URL, or start the stack with `pipewright up`');
  return target.databaseUrl;
}

/** `pipewright load <file> --table NAME …`: a CSV or Parquet file into a new PostgreSQL table with an integer key. */
export async function loadCommand(file: string | undefined, options: LoadCommandOptions): Promise<number> {
  if (!file || !options.table) {
    console.error(`usage: ${LOAD_USAGE}`);
    return 2;
  }
  const types = options.types !== undefined ? parseTypeOverrides(options.types) : undefined;
  const maxRejectsFraction = options.maxRejectsFraction !== undefined ? fraction(options.maxRejectsFraction) : undefined;
  const databaseUrl = await loadDatabaseUrl(loadConfig());
  try {
    const result = await loadFile(pgPool(databaseUrl), file, {
      table: options.table,
      ...(options.key !== undefined ? { key: options.key } : {}),
      ...(options.replace ? { replace: true } : {}),
      ...(types !== undefined ? { types } : {}),
      ...(maxRejectsFraction !== undefined ? { maxRejectsFraction } : {}),
      ...(options.delimiter !== undefined ? { delimiter: delimiter(options.delimiter) } : {}),
    });
    for (const line of describeLoad(file, result)) console.log(line);
    return 0;
  } finally {
    await closePgPools();
  }
}

/** What the user sees after a load: the table, its columns, what was renamed, what was quarantined and why. */
export function describeLoad(file: string, result: LoadFileResult): string[] {
  if (!result.loaded) return [`${result.table} is already loaded (${result.rows} rows); load with --replace to drop and reload it.`];
  const out: string[] = [];
  // A rate over a fraction of a second says nothing.
  const rate = result.seconds >= 1 ? ` (${Math.round(result.rows / result.seconds).toLocaleString('en-US')} rows/s)` : '';
  out.push(`Loaded ${result.rows.toLocaleString('en-US')} rows from ${file} into ${result.table} in ${result.seconds.toFixed(1)}s${rate}.`);
  const columns = result.columns ?? [];
  const nameWidth = Math.max(...columns.map((c) => c.name.length));
  const typeWidth = Math.max(...columns.map((c) => c.type.length));
  out.push('Columns:');
  for (const c of columns) {
    const notes: string[] = [];
    if (c.name === result.key?.name) notes.push(c.header === undefined ? 'key, added by pipewright: 0, 1, 2, … in file order' : 'key');
    if (c.header !== undefined && c.header !== c.name) notes.push(`from "${c.header}"`);
    out.push(`  ${c.name.padEnd(nameWidth)}  ${c.type.padEnd(typeWidth)}  ${notes.join(', ')}`.trimEnd());
  }
  const rejects = result.rejects;
  if (rejects && rejects.total > 0) {
    const unit = result.format === 'csv' ? 'line' : 'row';
    out.push(`Rejected ${rejects.total.toLocaleString('en-US')} rows (kept in pipewright_load_rejects):`);
    for (const c of rejects.counts) out.push(`  ${String(c.count).padStart(8)}  ${c.reason}${c.column !== undefined ? ` in "${c.column}"` : ''}`);
    out.push('First ones:');
    for (const r of rejects.examples) out.push(`  ${unit} ${r.line}: ${r.message}`);
    out.push(`All of them: SELECT line, reason, message, fields, raw FROM pipewright_load_rejects WHERE table_name = '${result.table}' ORDER BY line;`);
  } else {
    out.push('Rejected 0 rows.');
  }
  for (const note of result.notes ?? []) out.push(`Note: ${note}`);
  return out;
}

function fraction(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value >= 0 && value <= 1)) {
    throw new PipelineInputError(`--max-rejects-fraction must be a number between 0 and 1 (e.g. 0.01 for 1%), got "${text}".`);
  }
  return value;
}

/** `--delimiter '\t'` (as a shell passes it) and `--delimiter tab` mean a tab. */
function delimiter(text: string): string {
  const value = text === '\\t' || text.toLowerCase() === 'tab' ? '\t' : text;
  if (value === '' || value.includes('"') || value.includes('\n') || value.includes('\r')) {
    throw new PipelineInputError(`--delimiter must be a character such as , ; | or tab, got ${JSON.stringify(text)}.`);
  }
  return value;
}
