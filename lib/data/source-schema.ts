import type { Pool } from 'pg';
import { PipelineInputError } from '../errors';
import type { PipelineSpec } from '../spec/pipeline-spec';
import type { WireType } from './copy-binary';
import { ident } from '../db/sql';

/** How a source column lands in an ingested shard. */
export type ColumnKind = 'number' | 'timestamp' | 'text';

export interface SourceColumn {
  name: string;
  kind: ColumnKind;
  /** SQL expression the ingest COPY selects: the bare column where its binary form is decoded directly, else a cast. */
  select: string;
  /** How the selected value arrives in a binary COPY. */
  wire: WireType;
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
  if (kind === 'timestamp') throw new Error(`column "${name}" of type ${dataType} cannot be read as a timestamp`);
  // numeric (arbitrary precision) goes as float8; categorical non-text columns (integers, char(n), enums) as their text form.
  return kind === 'text' ? { name, kind, select: `${q}::text`, wire: 'text' } : { name, kind, select: `${q}::float8`, wire: 'float8' };
}

export interface SourceSchema {
  table: string;
  key: string;
  /** Columns in shard order: key first, then the label, then each feature column once. */
  columns: SourceColumn[];
  minKey: number;
  maxKey: number;
  /** Rows the spec reads (after `limit`). */
  rows: number;
}

const NUMERIC_TYPES = new Set(['smallint', 'integer', 'bigint', 'real', 'double precision', 'numeric']);
const TIME_TYPES = new Set(['timestamp without time zone', 'timestamp with time zone', 'date']);

/**
 * Checks that the table and every column the spec names exist with a usable type, and reads the
 * key bounds. Every mismatch is a PipelineInputError naming the column and the fix.
 */
export async function inspectSource(pool: Pool, spec: PipelineSpec): Promise<SourceSchema> {
  const { table, key, limit } = spec.source;
  const { rows: cols } = await pool.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  if (cols.length === 0) {
    throw new PipelineInputError(`source.table: table "${table}" does not exist in the database; create or load it, or fix source.table in the spec.`);
  }
  const types = new Map(cols.map((c) => [c.column_name, c.data_type]));
  const available = cols.map((c) => c.column_name).join(', ');
  const typeOf = (column: string, field: string): string => {
    const t = types.get(column);
    if (t === undefined) {
      throw new PipelineInputError(`${field}: column "${column}" is not in table "${table}" (it has: ${available}).`);
    }
    return t;
  };
  const requireKind = (column: string, field: string, want: 'number' | 'timestamp'): void => {
    const t = typeOf(column, field);
    const ok = want === 'number' ? NUMERIC_TYPES.has(t) : TIME_TYPES.has(t);
    if (!ok) {
      const wanted = want === 'number' ? 'a numeric type (integer, bigint, real, double precision, numeric)' : 'a timestamp or date';
      throw new PipelineInputError(
        `${field}: column "${table}.${column}" has type ${t}, but it must be ${wanted}; change the feature kind or the column type.`,
      );
    }
  };

  const columns: SourceColumn[] = [];
  const seen = new Set<string>();
  const add = (name: string, kind: ColumnKind): void => {
    if (seen.has(name)) return;
    seen.add(name);
    columns.push(sourceColumn(name, types.get(name)!, kind));
  };

  const keyType = typeOf(key, 'source.key');
  if (!['smallint', 'integer', 'bigint'].includes(keyType)) {
    throw new PipelineInputError(`source.key: column "${table}.${key}" has type ${keyType}; the partition key must be an integer column.`);
  }
  add(key, 'number');
  requireKind(spec.label.column, 'label.column', 'number');
  add(spec.label.column, 'number');
  spec.features.forEach((feature, i) => {
    const field = `features[${i}].column`;
    switch (feature.kind) {
      case 'numeric':
        requireKind(feature.column, field, 'number');
        add(feature.column, 'number');
        break;
      case 'hourOfDay':
      case 'dayOfWeek':
        requireKind(feature.column, field, 'timestamp');
        add(feature.column, 'timestamp');
        break;
      case 'categorical':
        typeOf(feature.column, field);
        add(feature.column, 'text');
        break;
    }
  });

  const bounds = await pool.query<{ lo: string | null; hi: string | null; n: string }>(
    limit === undefined
      ? `SELECT min(${ident(key)})::text AS lo, max(${ident(key)})::text AS hi, count(*)::text AS n FROM ${ident(table)}`
      : `SELECT min(k)::text AS lo, max(k)::text AS hi, count(*)::text AS n
           FROM (SELECT ${ident(key)} AS k FROM ${ident(table)} ORDER BY ${ident(key)} LIMIT ${Number(limit)}) s`,
  );
  const { lo, hi, n } = bounds.rows[0]!;
  if (lo === null || hi === null) throw new PipelineInputError(`source.table: table "${table}" is empty; load data into it first.`);
  return { table, key, columns, minKey: Number(lo), maxKey: Number(hi), rows: Number(n) };
}
