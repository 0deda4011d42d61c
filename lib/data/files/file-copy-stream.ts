import type { WireType } from '../copy-binary';
import { cellColumn } from '../load/arrow-cells';
import { CopyBinaryWriter } from '../load/copy-binary-writer';
import { readCsv } from '../load/csv-rows';
import { openParquetFile } from '../load/parquet-rows';
import type { SqlType } from '../load/sql-types';
import { TEXT_ENCODERS } from '../load/text-values';
import type { FilePiece, FileRange } from '../partitions';
import type { SourceColumn, SourceSchema } from '../source-schema';
import { ROW_NUMBER_FILE_SHIFT } from './file-source-plan';

/** A row that cannot go into the shard: why, and its fields as read. */
export type RejectRow = (row: { key: number | string | null; reason: string; fields: Array<string | number | null> }) => void;

/** The SQL type whose binary COPY form is each wire type: what a file value is converted to. Zoneless times are UTC. */
const TARGET: Readonly<Record<WireType, SqlType>> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  timestamp: 'timestamptz',
  date: 'date',
  text: 'text',
};

const FLUSH_BYTES = 1 << 20;

const isRowNumber = (c: SourceColumn, schema: SourceSchema): boolean => schema.key === undefined && c === schema.columns[0];

/**
 * A file partition as a binary COPY stream, the form a PostgreSQL partition arrives in, so that one
 * decoder builds every shard (same types, same quarantine rules). Values are converted as
 * `pipewright load` converts them; a value that does not convert, a CSV line with the wrong number of
 * fields or a malformed line goes to `reject` with the reason, and the rest of the file is read.
 */
export async function* fileCopyChunks(schema: SourceSchema, partition: FileRange, reject: RejectRow): AsyncGenerator<Buffer> {
  const w = new CopyBinaryWriter();
  w.header();
  for (const piece of partition.pieces) {
    const rows = piece.format === 'csv' ? csvPiece(schema, piece, w, reject) : parquetPiece(schema, piece, w, reject);
    for await (const _ of rows) if (w.length >= FLUSH_BYTES) yield w.take();
  }
  w.trailer();
  yield w.take();
}

/** Writes the piece's rows into `w`, yielding now and then so that the caller can hand the bytes on. */
async function* csvPiece(schema: SourceSchema, piece: Extract<FilePiece, { format: 'csv' }>, w: CopyBinaryWriter, reject: RejectRow): AsyncGenerator<void> {
  const names = schema.file!.names;
  const positions = schema.columns.map((c) => (isRowNumber(c, schema) ? -1 : names.indexOf(c.name)));
  const encoders = schema.columns.map((c) => TEXT_ENCODERS[TARGET[c.wire]]);
  const rowBase = piece.fileIndex * ROW_NUMBER_FILE_SHIFT;
  const delimiter = schema.file!.delimiter ?? ',';
  for await (const items of readCsv(piece.file, { delimiter, start: piece.start, end: piece.end, firstLine: piece.firstLine })) {
    for (const item of items) {
      if (item.fields === null) {
        reject({ key: rowBase + item.line, reason: `line ${item.line}: ${item.problem}`, fields: [item.raw] });
        continue;
      }
      if (item.fields.length !== names.length) {
        reject({ key: rowBase + item.line, reason: `line ${item.line} has ${item.fields.length} fields, the header has ${names.length}`, fields: item.fields });
        continue;
      }
      const mark = w.mark();
      w.tuple(positions.length);
      for (let c = 0; c < positions.length; c++) {
        const at = positions[c]!;
        if (at < 0) {
          w.int8(rowBase + item.line);
          continue;
        }
        const value = item.fields[at]!;
        // An empty field is NULL, as `pipewright load` reads it; ingest then decides whether the column may be.
        if (value === '') {
          w.null();
          continue;
        }
        const problem = encoders[c]!(w, value);
        if (problem !== undefined) {
          w.rewind(mark);
          reject({ key: rowBase + item.line, reason: `line ${item.line}: "${schema.columns[c]!.name}" ${problem}`, fields: item.fields });
          break;
        }
      }
    }
    yield;
  }
}

async function* parquetPiece(
  schema: SourceSchema,
  piece: Extract<FilePiece, { format: 'parquet' }>,
  w: CopyBinaryWriter,
  reject: RejectRow,
): AsyncGenerator<void> {
  const reader = await openParquetFile(piece.file);
  const wanted = schema.columns.filter((c) => !isRowNumber(c, schema)).map((c) => c.name);
  let row = piece.firstRow;
  const rowBase = piece.fileIndex * ROW_NUMBER_FILE_SHIFT;
  try {
    for await (const batch of reader.batches({ columns: wanted, rowGroups: piece.rowGroups, offset: piece.offset, limit: piece.rows })) {
      const cells = schema.columns.map((c) => (isRowNumber(c, schema) ? null : cellColumn(batch.getChild(c.name)!.data[0]!, TARGET[c.wire])));
      for (let r = 0; r < batch.numRows; r++, row++) {
        const mark = w.mark();
        w.tuple(cells.length);
        for (let c = 0; c < cells.length; c++) {
          const cell = cells[c];
          if (cell === null) {
            w.int8(rowBase + row);
            continue;
          }
          if (cell!.isNull(r)) {
            w.null();
            continue;
          }
          const problem = cell!.write(w, r);
          if (problem !== undefined) {
            w.rewind(mark);
            reject({
              key: rowBase + row,
              reason: `row ${row}: "${schema.columns[c]!.name}" ${problem}`,
              fields: cells.map((x) => (x === null ? rowBase + row : x.text(r))),
            });
            break;
          }
        }
      }
      yield;
    }
  } finally {
    reader.close();
  }
}
