import type { Pool } from 'pg';
import { PipelineInputError } from '../errors';
import { ROW_HASH_COLUMN, describeSource, labelColumnUse, type PipelineSpec, type PostgresSourceSpec } from '../spec/pipeline-spec';
import type { WireType } from './copy-binary';
import { ident } from '../db/sql';
import { isSourceMistake } from './source-errors';

/** How a source column lands in an ingested shard. */
export type ColumnKind = 'number' | 'timestamp' | 'text';

export interface SourceColumn {
  name: string;
  kind: ColumnKind;
  /** SQL expression the ingest COPY selects: the bare column where its binary form is decoded directly, else a cast. */
  select: string;
  /** How the selected value arrives in a binary COPY. */
  wire: WireType;
  /** A text column whose NULL makes the row malformed (a text label); numeric columns are always required. */
  required?: boolean;
  /**
   * A number column whose NULLs reach the shard (as Arrow nulls) instead of quarantining their row,
   * because a numeric feature imputes them. NaN and Infinity are quarantined all the same.
   */
  nullable?: boolean;
  /** The only values a row may hold here (a multiclass label's listed classes); a row with another is quarantined. */
  allowed?: Array<string | number>;
}

/** How a file source's columns are read: CSV by position in the header, Parquet by name, each as its file's SQL type. */
export interface FileColumns {
  format: 'csv' | 'parquet';
  /** CSV: the field delimiter. */
  delimiter?: string;
  /** The file's column names in file order (CSV: the header made into identifiers). */
  names: string[];
}

/** Types whose binary COPY form ingest decodes itself; anything else is cast on the server. */
const NATIVE_WIRE: Readonly<Record<string, WireType>> = {
  smallint: 'int2',
  integer: 'int4',
  bigint: 'int8',
  real: 'float4',
  'double precision': 'float8',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamp',
  date: 'date',
  text: 'text',
  'character varying': 'text',
};

/** What each wire type delivers. */
const WIRE_KIND: Readonly<Record<WireType, ColumnKind>> = {
  int2: 'number',
  int4: 'number',
  int8: 'number',
  float4: 'number',
  float8: 'number',
  timestamp: 'timestamp',
  date: 'timestamp',
  text: 'text',
};

/** The SELECT expression and wire type that deliver column `name` (of SQL type `dataType`) as `kind`. */
export function sourceColumn(name: string, dataType: string, kind: ColumnKind): SourceColumn {
  const q = ident(name);
  const native = NATIVE_WIRE[dataType];
  if (native !== undefined && WIRE_KIND[native] === kind) return { name, kind, select: q, wire: native };
  if (dataType === 'boolean' && kind === 'number') return { name, kind, select: `${q}::int::float8`, wire: 'float8' };
  if (kind === 'timestamp') throw new Error(`column "${name}" of type ${dataType} cannot be read as a timestamp`);
  // numeric (arbitrary precision) goes as float8; categorical non-text columns (integers, char(n), enums) as their text form.
  return kind === 'text' ? { name, kind, select: `${q}::text`, wire: 'text' } : { name, kind, select: `${q}::float8`, wire: 'float8' };
}

export interface SourceSchema {
  /** How the source reads in messages and summaries: the table, the path, or the query's first words. */
  name: string;
  /** The FROM item every partition reads: a quoted table, or the spec's query as an aliased subquery ('' for files). */
  from: string;
  /** For a CSV or Parquet source: how to read each column from the files. */
  file?: FileColumns;
  /** The integer key column, when the spec names one. */
  key?: string;
  /** Columns in shard order: the row id (key or row hash) first, then the label, then each feature column once. */
  columns: SourceColumn[];
}

const NUMERIC_TYPES = new Set(['smallint', 'integer', 'bigint', 'real', 'double precision', 'numeric', 'boolean']);
const TIME_TYPES = new Set(['timestamp without time zone', 'timestamp with time zone', 'date']);
const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** The FROM item of a source: its table, or its query in parentheses. */
export function sourceFrom(source: PostgresSourceSpec): string {
  return source.table !== undefined ? ident(source.table) : `(${source.query!}) AS source`;
}

/** Low 52 bits of a 64-bit hash of the row's values: an identity that survives the float64 shard column. */
function rowHashColumn(over: readonly SourceColumn[]): SourceColumn {
  const values = over.map((c) => ident(c.name)).join(', ');
  return { name: ROW_HASH_COLUMN, kind: 'number', select: `(hashtextextended(ROW(${values})::text, 0) & 4503599627370495)`, wire: 'int8' };
}

/** PostgreSQL's own message for a source that cannot be read, turned into one that names the spec field. */
function sourceProblem(source: PostgresSourceSpec, err: unknown): unknown {
  const message = (err as Error).message;
  if (!isSourceMistake(err)) return err;
  if (source.table !== undefined) {
    if ((err as { code?: string }).code === '42P01') {
      return new PipelineInputError(
        `source.table: table "${source.table}" does not exist in the database; load it (pipewright load <file> --table ${source.table}) or fix source.table.`,
      );
    }
    return new PipelineInputError(`source.table: cannot read "${source.table}": ${message}`);
  }
  return new PipelineInputError(`source.query: PostgreSQL refused the query: ${message}. Check it with psql (pipewright db prints the URL).`);
}

/** Column names and SQL types of what `from` yields, read from a zero-row SELECT in a read-only transaction. */
async function columnTypes(pool: Pool, source: PostgresSourceSpec): Promise<Array<{ name: string; type: string }>> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const result = await client.query(`SELECT * FROM ${sourceFrom(source)} LIMIT 0`);
    const oids = [...new Set(result.fields.map((f) => f.dataTypeID))];
    const { rows } = await client.query<{ oid: number; type: string }>(
      'SELECT oid::int AS oid, format_type(oid, NULL) AS type FROM pg_type WHERE oid = ANY($1)',
      [oids],
    );
    const typeOf = new Map(rows.map((r) => [r.oid, r.type]));
    return result.fields.map((f) => ({ name: f.name, type: typeOf.get(f.dataTypeID) ?? 'unknown' }));
  } catch (err) {
    throw sourceProblem(source, err);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * Checks that the source can be read and that every column the spec names is in it with a usable
 * type. Every mismatch is a PipelineInputError naming the spec field, the column and the fix.
 */
export async function inspectSource(pool: Pool, spec: PipelineSpec, source: PostgresSourceSpec): Promise<SourceSchema> {
  const name = describeSource(source);
  const columns = columnsForSpec(spec, name, await columnTypes(pool, source), source);
  if (source.key === undefined) columns.unshift(rowHashColumn(columns));
  return { name, from: sourceFrom(source), ...(source.key !== undefined ? { key: source.key } : {}), columns };
}

/**
 * The shard columns a spec reads from a source with columns `cols` (their PostgreSQL type names):
 * the key first when there is one, the label, then each feature column once. Refuses a column that
 * is missing, duplicated or of a type its use cannot take, naming the spec field and the fix.
 */
export function columnsForSpec(
  spec: PipelineSpec,
  name: string,
  cols: ReadonlyArray<{ name: string; type: string }>,
  source: { key?: string | undefined; hashColumn?: string | undefined },
): SourceColumn[] {
  const types = new Map<string, string>();
  const duplicated = new Set<string>();
  for (const c of cols) {
    if (types.has(c.name)) duplicated.add(c.name);
    else types.set(c.name, c.type);
  }
  const available = cols.map((c) => c.name).join(', ');
  const typeOf = (column: string, field: string): string => {
    if (duplicated.has(column)) throw new PipelineInputError(`${field}: ${name} yields two columns named "${column}"; give them distinct aliases.`);
    const t = types.get(column);
    if (t === undefined) throw new PipelineInputError(`${field}: column "${column}" is not in ${name} (it has: ${available}).`);
    return t;
  };
  const requireKind = (column: string, field: string, want: 'number' | 'timestamp'): void => {
    const t = typeOf(column, field);
    const ok = want === 'number' ? NUMERIC_TYPES.has(t) : TIME_TYPES.has(t);
    if (!ok) {
      const wanted = want === 'number' ? 'a numeric type (integer, bigint, real, double precision, numeric, boolean)' : 'a timestamp or date';
      throw new PipelineInputError(`${field}: column "${column}" of ${name} has type ${t}, but it must be ${wanted}; change the spec or the column type.`);
    }
  };

  const columns: SourceColumn[] = [];
  const seen = new Set<string>();
  const add = (column: string, kind: ColumnKind, required = false, nullable = false, allowed?: Array<string | number>): void => {
    if (seen.has(column)) return;
    seen.add(column);
    columns.push({
      ...sourceColumn(column, types.get(column)!, kind),
      ...(required ? { required } : {}),
      ...(nullable ? { nullable } : {}),
      ...(allowed ? { allowed } : {}),
    });
  };

  if (source.key !== undefined) {
    const keyType = typeOf(source.key, 'source.key');
    if (!INTEGER_TYPES.has(keyType)) {
      throw new PipelineInputError(
        `source.key: column "${source.key}" of ${name} has type ${keyType}; the key must be an integer column (or drop source.key).`,
      );
    }
    add(source.key, 'number');
  }
  if (source.hashColumn !== undefined) typeOf(source.hashColumn, 'source.hashColumn');
  // A NULL label quarantines its row (a number column is never nullable unless a feature imputes it, and no feature reads the label).
  const label = spec.label;
  const listed = 'classes' in label && Array.isArray(label.classes) ? [...label.classes] : undefined;
  const use = labelColumnUse(label);
  if (use === 'text' || (use === 'asStored' && !NUMERIC_TYPES.has(typeOf(label.column, 'label.column')))) {
    typeOf(label.column, 'label.column');
    add(label.column, 'text', true, false, listed);
  } else {
    if (use === 'number') requireKind(label.column, 'label.column', 'number');
    add(label.column, 'number', false, false, listed);
  }
  spec.features.forEach((feature, i) => {
    const field = `features[${i}].column`;
    switch (feature.kind) {
      case 'numeric':
        requireKind(feature.column, field, 'number');
        // The spec makes every numeric feature of an imputed column impute, so the first one decides.
        add(feature.column, 'number', false, feature.impute !== undefined);
        break;
      case 'quantileBuckets':
        requireKind(feature.column, field, 'number');
        add(feature.column, 'number');
        break;
      case 'hourOfDay':
      case 'dayOfWeek':
      case 'timestamp':
        requireKind(feature.column, field, 'timestamp');
        add(feature.column, 'timestamp');
        break;
      case 'categorical':
      case 'hashed':
        typeOf(feature.column, field);
        add(feature.column, 'text');
        break;
      case 'cross':
        feature.columns.forEach((column, j) => {
          typeOf(column, `features[${i}].columns[${j}]`);
          add(column, 'text');
        });
        break;
    }
  });
  if (spec.split.timeColumn !== undefined) {
    requireKind(spec.split.timeColumn, 'split.timeColumn', 'timestamp');
    add(spec.split.timeColumn, 'timestamp');
  }
  return columns;
}
