import { PipelineInputError } from '../../errors';

/** The column types `pipewright load` creates. Inference picks from the first seven; the rest are there for `--types`. */
export const SQL_TYPES = [
  'bigint',
  'double precision',
  'boolean',
  'date',
  'timestamp',
  'timestamptz',
  'text',
  'integer',
  'smallint',
  'real',
  'numeric',
] as const;
export type SqlType = (typeof SQL_TYPES)[number];

/** Other spellings users type for the same types (PostgreSQL's own aliases, mostly). */
const ALIASES: Readonly<Record<string, SqlType>> = {
  int8: 'bigint',
  int: 'integer',
  int4: 'integer',
  int2: 'smallint',
  float8: 'double precision',
  float: 'double precision',
  double: 'double precision',
  float4: 'real',
  bool: 'boolean',
  decimal: 'numeric',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  varchar: 'text',
  string: 'text',
};

export const INTEGER_TYPES: ReadonlySet<SqlType> = new Set<SqlType>(['smallint', 'integer', 'bigint']);

/** The SQL type a user named, or undefined when it is not one pipewright loads. */
export function sqlTypeOf(name: string): SqlType | undefined {
  const lower = name.trim().toLowerCase().replace(/\s+/g, ' ');
  if ((SQL_TYPES as readonly string[]).includes(lower)) return lower as SqlType;
  return ALIASES[lower];
}

/**
 * Parses `--types a=bigint,b=text` into column → type. Names are matched against the file's
 * columns later, where the columns are known.
 */
export function parseTypeOverrides(spec: string): Record<string, SqlType> {
  const out: Record<string, SqlType> = {};
  for (const part of spec.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const column = eq < 0 ? '' : part.slice(0, eq).trim();
    const typeName = eq < 0 ? '' : part.slice(eq + 1);
    if (column === '' || typeName.trim() === '') {
      throw new PipelineInputError(`--types: "${part.trim()}" is not column=type; write e.g. --types zip=text,amount=numeric.`);
    }
    const type = sqlTypeOf(typeName);
    if (type === undefined) {
      throw new PipelineInputError(
        `--types: "${typeName.trim()}" (for column "${column}") is not a type pipewright loads; use one of: ${SQL_TYPES.join(', ')}.`,
      );
    }
    out[column] = type;
  }
  return out;
}
