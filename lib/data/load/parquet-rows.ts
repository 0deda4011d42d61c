import { openAsBlob } from 'node:fs';
import { tableFromIPC, type Field, type RecordBatch } from 'apache-arrow';
import { PipelineInputError } from '../../errors';

/** Rows per record batch: big enough to amortise the wasm → JS hand-over, small enough to keep memory flat. */
const BATCH_ROWS = 65_536;

export interface ParquetFileReader {
  fields: Field[];
  rows: number;
  /**
   * The file's rows in order as Arrow record batches: only `columns` when given; only the row groups
   * `rowGroups` when given, skipping `offset` of their rows and stopping after `limit`.
   */
  batches(options?: { limit?: number; columns?: string[]; rowGroups?: number[]; offset?: number }): AsyncGenerator<RecordBatch>;
  close(): void;
}

/**
 * Opens a Parquet file without reading it into memory: parquet-wasm's ParquetFile reads through a
 * file-backed Blob (`fs.openAsBlob`), fetching only the byte ranges of the row group it decodes,
 * and its stream() hands over one record batch at a time. (`readParquet` with offset/limit, which
 * the first flights loader used, needs the whole file as one Uint8Array.)
 */
export async function openParquetFile(path: string): Promise<ParquetFileReader> {
  const parquetWasm = await import('parquet-wasm/node');
  let file: Awaited<ReturnType<typeof parquetWasm.ParquetFile.fromFile>>;
  try {
    file = await parquetWasm.ParquetFile.fromFile(await openAsBlob(path));
  } catch (err) {
    throw new PipelineInputError(`${path} is not a readable Parquet file (${errorText(err)}); check the file, or give a CSV file a .csv name.`);
  }
  const fields = tableFromIPC(file.schema().intoIPCStream()).schema.fields;
  const rows = file.metadata().fileMetadata().numRows();
  return {
    fields,
    rows,
    async *batches(options = {}) {
      const stream = await file.stream({
        batchSize: BATCH_ROWS,
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(options.columns ? { columns: options.columns } : {}),
        ...(options.rowGroups ? { rowGroups: options.rowGroups } : {}),
        ...(options.offset ? { offset: options.offset } : {}),
      });
      const reader = (stream as ReadableStream<{ intoIPCStream(): Uint8Array }>).getReader();
      let done = false;
      try {
        for (;;) {
          const next = await reader.read();
          if (next.done) {
            done = true;
            return;
          }
          // intoIPCStream frees the wasm-side batch; the Arrow JS copy is what the load reads.
          for (const batch of tableFromIPC(next.value.intoIPCStream()).batches) yield batch;
        }
      } finally {
        if (!done) await reader.cancel().catch(() => undefined);
      }
    },
    close: () => file.free(),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
