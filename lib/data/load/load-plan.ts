import { PipelineInputError } from '../../errors';
import { ident } from '../../db/sql';
import { isPlainIdentifier, sanitiseColumnNames } from './column-names';
import { INTEGER_TYPES, type SqlType } from './sql-types';

/** A table column and where its values come from. */
export interface LoadColumn {
  /** The column's name in the table. */
  name: string;
  /** Its name in the file (header or Parquet field); absent for a key pipewright adds. */
  header?: string;
  type: SqlType;
  /** Index among the file's columns; -1 for a key pipewright adds. */
  source: number;
  notNull: boolean;
}

export interface LoadPlan {
  table: string;
  /** In table order: an added key first, then the file's columns in file order. */
  columns: LoadColumn[];
  key: { name: string; generated: boolean };
  /** File columns whose name changed on the way to SQL. */
  renamed: Array<{ header: string; name: string }>;
}

/** What a file says about its columns before anything is loaded. */
export interface FileColumns {
  headers: readonly string[];
  /** The type each column loads as when the user names none; undefined when the file's type has no natural SQL type. */
  types: ReadonlyArray<SqlType | undefined>;
  /** The file's own type of each column, for messages ("Arrow List<Int32>"), or undefined for CSV. */
  fileTypes?: readonly string[];
}

export interface PlanOptions {
  table: string;
  /** The key column: the file's column of that name, or one pipewright adds and numbers 0, 1, 2, … in file order. */
  key: string;
  /** Column (file header or SQL name) → type, overriding the inferred one. */
  types?: Readonly<Record<string, SqlType>>;
  /** Columns (file header or SQL name) that may not be NULL: rows without a value are quarantined. */
  notNull?: readonly string[];
}

/** Decides the table's columns: SQL names, types (inferred, then overridden) and the key. */
export function planLoad(file: FileColumns, options: PlanOptions): LoadPlan {
  const { names, renamed } = sanitiseColumnNames(file.headers);
  const available = (): string => names.map((n, i) => (n === file.headers[i] ? n : `${n} (“${file.headers[i]}”)`)).join(', ');
  const indexOf = (name: string): number => {
    const bySqlName = names.indexOf(name);
    return bySqlName >= 0 ? bySqlName : file.headers.indexOf(name);
  };
  const keySource = indexOf(options.key);
  if (keySource < 0 && !isPlainIdentifier(options.key)) {
    throw new PipelineInputError(
      `--key: the file has no column "${options.key}", and a key column pipewright adds needs a plain SQL identifier as its name (letters, digits and underscores, e.g. row_id).`,
    );
  }
  const keyName = keySource >= 0 ? names[keySource]! : options.key;

  const types: Array<SqlType | undefined> = [...file.types];
  for (const [column, type] of Object.entries(options.types ?? {})) {
    const i = indexOf(column);
    if (i < 0) {
      if (column === keyName) throw new PipelineInputError(`--types: "${column}" is the key pipewright adds (bigint, numbered from 0); it takes no type.`);
      throw new PipelineInputError(`--types: the file has no column "${column}"; its columns are: ${available()}.`);
    }
    types[i] = type;
  }
  const notNull = new Set<number>();
  for (const column of options.notNull ?? []) {
    const i = indexOf(column);
    if (i < 0) throw new Error(`notNull: the file has no column "${column}"; its columns are: ${available()}.`);
    notNull.add(i);
  }

  const columns: LoadColumn[] = [];
  if (keySource < 0) columns.push({ name: keyName, type: 'bigint', source: -1, notNull: true });
  names.forEach((name, i) => {
    const type = types[i];
    if (type === undefined) {
      const what = file.fileTypes?.[i] ?? 'a type';
      throw new PipelineInputError(
        `column "${file.headers[i]}" has ${what}, which pipewright cannot load as a column of its own; load it as text (a JSON rendering) with --types ${name}=text, or drop it from the file.`,
      );
    }
    columns.push({ name, header: file.headers[i]!, type, source: i, notNull: notNull.has(i) || i === keySource });
  });
  if (keySource >= 0 && !INTEGER_TYPES.has(types[keySource]!)) {
    throw new PipelineInputError(
      `--key: column "${keyName}" holds ${types[keySource]} values, but a key must be integers (ingest splits the table by key ranges); ` +
        `choose another --key, or name a column the file does not have (e.g. --key row_id) and pipewright numbers the rows 0, 1, 2, ….`,
    );
  }
  return { table: options.table, columns, key: { name: keyName, generated: keySource < 0 }, renamed };
}

/** CREATE TABLE for the plan; the key's primary key is added after the rows are in (one index build instead of 3M inserts into it). */
export function createTableSql(plan: LoadPlan): string {
  const columns = plan.columns.map((c) => `${ident(c.name)} ${c.type}${c.notNull && c.name !== plan.key.name ? ' NOT NULL' : ''}`);
  return `CREATE TABLE ${ident(plan.table)} (${columns.join(', ')})`;
}

export function copySql(plan: LoadPlan): string {
  return `COPY ${ident(plan.table)} (${plan.columns.map((c) => ident(c.name)).join(', ')}) FROM STDIN (FORMAT binary)`;
}
