import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { measure } from './data-plane-util';

/**
 * The transform baseline: DuckDB, in-process with an in-memory database, doing the pipeline's fit
 * and apply in SQL over the same rows. The rows are loaded once, untimed, by DuckDB's own Parquet
 * reader from the file the flights table was loaded from (repeated with fresh keys, as
 * bench/data-plane-table.ts repeats the table). Then the fit (train-split statistics and
 * vocabularies, kept as small tables) and the apply (every row encoded, materialised with CREATE
 * TABLE … AS so that DuckDB really computes it) are timed.
 *
 * The train/test split differs: pipewright's keyed hash (lib/features/split.ts) is not cheap in SQL,
 * so DuckDB takes `hash(id) % m = 0` as the test split, m = round(1 / testFraction). Same share of
 * rows, same work per row, different rows.
 */

/** One feature of the spec as DuckDB computes it; only the kinds and options the demo uses. */
type MirroredFeature =
  | { kind: 'numeric'; name: string; column: string }
  | { kind: 'categorical'; name: string; column: string; topK: number }
  | { kind: 'hourOfDay' | 'dayOfWeek'; name: string; column: string };

export interface MirroredSpec {
  label: { column: string; greaterThan: number };
  testModulo: number;
  features: MirroredFeature[];
}

/** The options that may be present on a mirrored feature, with the value that changes nothing. */
const NEUTRAL: Readonly<Record<string, unknown>> = { scale: 'standard', minCount: 1 };

/** The spec's transform in the terms the SQL below mirrors, or an error naming what it does not. */
export function mirrorSpec(spec: PipelineSpec): MirroredSpec {
  if (!('greaterThan' in spec.label)) throw new Error('the DuckDB baseline mirrors a label.greaterThan rule only');
  const features = spec.features.map((feature): MirroredFeature => {
    const f = feature as unknown as Record<string, unknown>;
    const basic = new Set(['kind', 'name', 'column', ...(f.kind === 'categorical' ? ['topK'] : [])]);
    for (const [key, value] of Object.entries(f)) {
      if (basic.has(key) || value === undefined || value === NEUTRAL[key]) continue;
      throw new Error(`the DuckDB baseline does not mirror ${key} of feature "${String(f.name)}"; extend bench/duckdb-transforms.ts`);
    }
    const name = String(f.name);
    const column = String(f.column);
    switch (f.kind) {
      case 'numeric':
        return { kind: 'numeric', name, column };
      case 'categorical':
        return { kind: 'categorical', name, column, topK: Number(f.topK) };
      case 'hourOfDay':
      case 'dayOfWeek':
        return { kind: f.kind, name, column };
      default:
        throw new Error(`the DuckDB baseline does not mirror ${String(f.kind)} features; extend bench/duckdb-transforms.ts`);
    }
  });
  return { label: spec.label, testModulo: Math.round(1 / spec.split.testFraction), features };
}

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The fit: one statement per fitted feature, each a scan of the train split into a small table. */
function fitStatements(spec: MirroredSpec): string[] {
  const train = `hash(id) % ${spec.testModulo} <> 0`;
  return spec.features.flatMap((f) => {
    switch (f.kind) {
      case 'numeric':
        // A constant column scales by 1, as pipewright's fit does.
        return [
          `CREATE TABLE ${q(`fit_${f.name}`)} AS SELECT avg(${q(f.column)}) AS mean,
             CASE WHEN stddev_samp(${q(f.column)}) > 0 THEN stddev_samp(${q(f.column)}) ELSE 1 END AS std
           FROM flights WHERE ${train}`,
        ];
      case 'categorical':
        // The topK most frequent values, ties by value, as pipewright's vocabulary is ordered.
        return [
          `CREATE TABLE ${q(`vocab_${f.name}`)} AS SELECT ${q(f.column)} AS value,
             (row_number() OVER (ORDER BY count(*) DESC, ${q(f.column)}) - 1)::INTEGER AS code
           FROM flights WHERE ${train} AND ${q(f.column)} IS NOT NULL GROUP BY ${q(f.column)}
           QUALIFY code < ${f.topK}`,
        ];
      default:
        return [];
    }
  });
}

/** The apply: label, split flag and one FLOAT code per feature for every row, as an encoded shard holds. */
function applyStatement(spec: MirroredSpec): string {
  const joins: string[] = [];
  const codes = spec.features.map((f) => {
    const col = `f.${q(f.column)}`;
    switch (f.kind) {
      case 'numeric':
        joins.push(`CROSS JOIN ${q(`fit_${f.name}`)} AS ${q(`s_${f.name}`)}`);
        return `((${col} - ${q(`s_${f.name}`)}.mean) / ${q(`s_${f.name}`)}.std)::FLOAT AS ${q(`f_${f.name}`)}`;
      case 'categorical':
        // NULL and out-of-vocabulary values share the slot after the vocabulary.
        joins.push(`LEFT JOIN ${q(`vocab_${f.name}`)} AS ${q(`v_${f.name}`)} ON ${q(`v_${f.name}`)}.value = ${col}`);
        return `coalesce(${q(`v_${f.name}`)}.code, (SELECT count(*) FROM ${q(`vocab_${f.name}`)}))::FLOAT AS ${q(`f_${f.name}`)}`;
      case 'hourOfDay':
        return `hour(${col})::FLOAT AS ${q(`f_${f.name}`)}`;
      case 'dayOfWeek':
        // 0 = Sunday, as pipewright's code.
        return `dayofweek(${col})::FLOAT AS ${q(`f_${f.name}`)}`;
    }
  });
  return `CREATE TABLE encoded AS SELECT
      (f.${q(spec.label.column)} > ${spec.label.greaterThan})::FLOAT AS label,
      (hash(f.id) % ${spec.testModulo} = 0)::FLOAT AS is_test,
      ${codes.join(',\n      ')}
    FROM flights AS f ${joins.join(' ')}`;
}

export interface DuckDbTransformResult {
  threads: number;
  rows: number;
  loadSeconds: number;
  fitSeconds: number;
  fitCpuSeconds: number;
  applySeconds: number;
  applyCpuSeconds: number;
  encodedRows: number;
  trainRows: number;
}

async function run(connection: DuckDBConnection, statements: string[]): Promise<void> {
  for (const sql of statements) await connection.run(sql);
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<number> {
  const reader = await connection.runAndReadAll(sql);
  return Number(reader.getRows()[0]![0]);
}

/** Loads `copies` × the Parquet file, then times the fit and the apply. */
export async function duckdbTransforms(parquet: string, copies: number, threads: number, spec: MirroredSpec): Promise<DuckDbTransformResult> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const connection = await instance.connect();
  try {
    const file = `'${parquet.replace(/'/g, "''")}'`;
    const fileRows = await scalar(connection, `SELECT count(*) FROM read_parquet(${file})`);
    // The PostgreSQL table's types: id bigint 0 … n-1 in file order (fresh per copy), delay and distance integer.
    const load = await measure(() =>
      run(connection, [
        `CREATE TABLE flights AS SELECT g * ${fileRows} + file_row_number AS id, date, delay::INTEGER AS delay, distance::INTEGER AS distance, origin, destination
           FROM read_parquet(${file}, file_row_number = true), range(${copies}) AS r(g)`,
      ]),
    );
    const fit = await measure(() => run(connection, fitStatements(spec)));
    const apply = await measure(() => run(connection, [applyStatement(spec)]));
    return {
      threads,
      rows: await scalar(connection, 'SELECT count(*) FROM flights'),
      loadSeconds: load.seconds,
      fitSeconds: fit.seconds,
      fitCpuSeconds: fit.cpuSeconds,
      applySeconds: apply.seconds,
      applyCpuSeconds: apply.cpuSeconds,
      encodedRows: await scalar(connection, 'SELECT count(*) FROM encoded'),
      trainRows: await scalar(connection, 'SELECT count(*) FROM encoded WHERE is_test = 0'),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
