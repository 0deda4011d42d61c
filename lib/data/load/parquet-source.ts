import { PipelineInputError } from '../../errors';
import { cellColumn, type CellColumn } from './arrow-cells';
import type { FileSource, RowSink } from './file-source';
import { arrowColumnType } from './infer-column-types';
import type { LoadColumn } from './load-plan';
import { openParquetFile } from './parquet-rows';

/**
 * Opens a Parquet file: column types come from its Arrow schema, rows stream one record batch at
 * a time.
 */
export async function openParquetSource(path: string, options: { limit?: number } = {}): Promise<FileSource> {
  const reader = await openParquetFile(path);
  if (reader.rows === 0) {
    reader.close();
    throw new PipelineInputError(`${path} has no rows; there is nothing to load.`);
  }
  const headers = reader.fields.map((f) => f.name);
  return {
    format: 'parquet',
    headers,
    types: reader.fields.map((f) => arrowColumnType(f)),
    fileTypes: reader.fields.map((f) => `Arrow type ${String(f.type)}`),
    notes: [],
    async *copyChunks(sink: RowSink) {
      const w = sink.writer;
      const columns = sink.plan.columns;
      w.header();
      for await (const batch of reader.batches(options.limit !== undefined ? { limit: options.limit } : {})) {
        const cells: Array<CellColumn | undefined> = columns.map((c) => (c.source < 0 ? undefined : cellColumn(batch.data.children[c.source]!, c.type)));
        const rowFields = (row: number): Record<string, string | null> =>
          Object.fromEntries(columns.flatMap((c, k) => (c.source < 0 ? [] : [[c.header!, cells[k]!.text(row)]])));
        rows: for (let row = 0; row < batch.numRows && !sink.done; row++) {
          sink.read++;
          const line = sink.read;
          const mark = sink.beginRow();
          for (let k = 0; k < columns.length; k++) {
            const cell = cells[k];
            if (cell === undefined) continue; // the added key, written by beginRow
            const column = columns[k]!;
            if (cell.isNull(row)) {
              if (sink.nullValue(mark, column, line, () => rowFields(row))) continue;
              continue rows;
            }
            const problem = cell.write(w, row);
            if (problem !== undefined) {
              sink.reject(mark, {
                line,
                reason: 'invalid_value',
                column: column.name,
                message: `column "${column.name}" (${column.type}): ${problem}`,
                fields: rowFields(row),
              });
              continue rows;
            }
          }
          sink.endRow();
        }
        if (sink.chunkReady()) yield w.take();
        if (sink.done) break;
      }
      w.trailer();
      yield w.take();
    },
    async linesOfKeys(key: LoadColumn, keys: ReadonlySet<string>) {
      const found = new Map<string, number[]>();
      let row = 0;
      for await (const batch of reader.batches({ columns: [key.header!], ...(options.limit !== undefined ? { limit: options.limit } : {}) })) {
        const cell = cellColumn(batch.data.children[0]!, key.type);
        for (let i = 0; i < batch.numRows; i++) {
          row++;
          const value = cell.text(i);
          if (value !== null && keys.has(value)) found.set(value, [...(found.get(value) ?? []), row]);
        }
      }
      return found;
    },
    close: async () => reader.close(),
  };
}
