import { PipelineInputError } from '../../errors';
import { ROW_NUMBER_COLUMN, describeSource, type FileSourceSpec, type PipelineSpec } from '../../spec/pipeline-spec';
import type { SqlType } from '../load/sql-types';
import type { Partition } from '../partitions';
import { columnsForSpec, type SourceColumn, type SourceSchema } from '../source-schema';
import { csvLayout } from './csv-layout';
import { parquetLayout } from './parquet-layout';
import { sourceFiles } from './source-files';

/** PostgreSQL's name for each SQL type a file column can have, so that files and tables share one column check. */
const PG_TYPE_NAME: Readonly<Record<SqlType, string>> = {
  bigint: 'bigint',
  integer: 'integer',
  smallint: 'smallint',
  'double precision': 'double precision',
  real: 'real',
  numeric: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  text: 'text',
};

/** A file's row identity without a key: its file (in name order) and its row (Parquet) or line (CSV) number. */
export const ROW_NUMBER_FILE_SHIFT = 2 ** 36;

export interface FileSourcePlan {
  schema: SourceSchema;
  partitions: Partition[];
  /** Rows the partitions hold together, where the files say so without reading them (Parquet). */
  rows: number | null;
}

/**
 * Finds the source's files, reads their layout (Parquet footers; CSV headers, a sample and record
 * boundaries), checks the spec's columns against them and cuts them into partitions of equal work.
 */
export async function planFileSource(spec: PipelineSpec, source: FileSourceSpec): Promise<FileSourcePlan> {
  const files = await sourceFiles(source.path);
  const name = describeSource(source);
  const layout =
    source.kind === 'parquet' ? await parquetLayout(files, source.partitions) : await csvLayout(files, source.partitions, source.delimiter, source.types ?? {});
  const untyped = layout.columns.find((c) => c.type === undefined);
  const cols = layout.columns.flatMap((c) => (c.type === undefined ? [] : [{ name: c.name, type: PG_TYPE_NAME[c.type] }]));
  let columns: SourceColumn[];
  try {
    columns = columnsForSpec(spec, name, cols, source);
  } catch (err) {
    if (untyped && err instanceof PipelineInputError && err.message.includes(`"${untyped.name}"`)) {
      throw new PipelineInputError(`${err.message} Its Parquet type has no column type pipewright reads (a list, struct or binary column).`);
    }
    throw err;
  }
  if (source.key === undefined) columns.unshift({ name: ROW_NUMBER_COLUMN, kind: 'number', select: ROW_NUMBER_COLUMN, wire: 'int8' });
  const schema: SourceSchema = {
    name,
    from: '',
    ...(source.key !== undefined ? { key: source.key } : {}),
    columns,
    file: { format: source.kind, names: layout.columns.map((c) => c.name), ...(source.kind === 'csv' ? { delimiter: source.delimiter } : {}) },
  };
  const partitions = layout.partitions.map((pieces, partition): Partition => ({ kind: 'fileRange', partition, pieces }));
  return { schema, partitions, rows: 'rows' in layout ? layout.rows : null };
}
