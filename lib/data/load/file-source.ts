import { CopyBinaryWriter } from './copy-binary-writer';
import type { FileColumns, LoadColumn, LoadPlan } from './load-plan';
import type { Reject, RejectLog } from './rejects';

/** Binary COPY bytes gathered before they are handed to the connection. */
export const COPY_CHUNK_BYTES = 1 << 20;
/** How many rows with an empty key a load collects before it gives up, to name them. */
export const NULL_KEY_EXAMPLES = 5;

/** A CSV or Parquet file being loaded. */
export interface FileSource extends FileColumns {
  format: 'csv' | 'parquet';
  /** Things worth telling the user about the file (e.g. a likely wrong delimiter). */
  notes: string[];
  /** Reads the rows into `sink` and yields the binary COPY stream in chunks, header first and trailer last. */
  copyChunks(sink: RowSink): AsyncGenerator<Buffer>;
  /** Where (CSV line, Parquet row number) the rows whose key reads as one of `keys` are, to name duplicates. */
  linesOfKeys(key: LoadColumn, keys: ReadonlySet<string>): Promise<Map<string, number[]>>;
  close(): Promise<void>;
}

/**
 * Where a file's rows go while it is read: the binary COPY stream, the quarantine, and the counts
 * the load checks afterwards. The per-format readers do the per-value work; this keeps what is the
 * same for every row (its tuple header, the added key, dropping a half-written row).
 */
export class RowSink {
  readonly writer = new CopyBinaryWriter();
  /** Rows (records, malformed lines) read from the file so far. */
  read = 0;
  loaded = 0;
  /** Lines of rows whose key column is empty; any one fails the load. */
  readonly nullKeyLines: number[] = [];
  private readonly fieldCount: number;
  private readonly generatedKey: boolean;

  constructor(
    readonly plan: LoadPlan,
    readonly rejects: RejectLog,
    private readonly limit: number | undefined,
  ) {
    this.fieldCount = plan.columns.length;
    this.generatedKey = plan.key.generated;
  }

  /** True when reading should stop: the row limit is reached, or enough empty keys are known to fail the load. */
  get done(): boolean {
    return (this.limit !== undefined && this.read >= this.limit) || this.nullKeyLines.length >= NULL_KEY_EXAMPLES;
  }

  /** Starts a row: its tuple header and, when pipewright adds the key, the key (its position among loaded rows). Returns the mark to drop it again. */
  beginRow(): number {
    const mark = this.writer.mark();
    this.writer.tuple(this.fieldCount);
    if (this.generatedKey) this.writer.int8(this.loaded);
    return mark;
  }

  endRow(): void {
    this.loaded++;
  }

  /** Drops the row begun at `mark` and quarantines it. */
  reject(mark: number, reject: Reject): void {
    this.writer.rewind(mark);
    this.rejects.add(reject);
  }

  /** Drops the row begun at `mark`: its key is empty, which fails the load once the first few are known. */
  /**
   * A NULL for `column`: written when the column may hold one (true: the row goes on); else the row
   * is dropped again, as a NULL key (which fails the load) or quarantined as null_value (false).
   */
  nullValue(mark: number, column: LoadColumn, line: number, fields: () => Reject['fields']): boolean {
    if (!column.notNull) {
      this.writer.null();
      return true;
    }
    if (!this.generatedKey && column.name === this.plan.key.name) this.nullKey(mark, line);
    else
      this.reject(mark, {
        line,
        reason: 'null_value',
        column: column.name,
        message: `column "${column.name}" has no value, and it may not be NULL`,
        fields: fields(),
      });
    return false;
  }

  nullKey(mark: number, line: number): void {
    this.writer.rewind(mark);
    this.nullKeyLines.push(line);
  }

  /** A chunk of the COPY stream, when enough has gathered. */
  chunkReady(): boolean {
    return this.writer.length >= COPY_CHUNK_BYTES;
  }
}
