import { PipelineInputError } from '../../errors';
import { readCsv, type CsvItem } from './csv-rows';
import type { FileSource, RowSink } from './file-source';
import { DEFAULT_SAMPLE_ROWS, inferCsvColumnTypes } from './infer-column-types';
import type { LoadColumn, LoadPlan } from './load-plan';
import { TEXT_ENCODERS, type TextEncoder } from './text-values';

export interface CsvSourceOptions {
  delimiter?: string;
  /** Rows type inference looks at. */
  sampleRows?: number;
  /** Read only the first N rows. */
  limit?: number;
}

/** Rows kept aside while sampling, at most: a file whose first rows are all bad must not fill memory. */
const SAMPLE_ITEMS_CAP_FACTOR = 10;

/**
 * Opens a CSV file: reads its header and a sample of its first rows to infer column types, and
 * keeps the sampled rows to load them first. Everything after the sample streams.
 */
export async function openCsvSource(path: string, options: CsvSourceOptions = {}): Promise<FileSource> {
  const delimiter = options.delimiter ?? ',';
  const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
  const items = readCsv(path, { delimiter });
  let buffered: CsvItem[] = [];
  let exhausted = false;
  const pull = async (): Promise<boolean> => {
    const next = await items.next();
    if (next.done) exhausted = true;
    else buffered.push(...next.value);
    return !exhausted;
  };

  while (buffered.length === 0 && (await pull()));
  const header = buffered.shift();
  if (header === undefined) throw new PipelineInputError(`${path} is empty; a CSV file needs a header line naming its columns, then one line per row.`);
  if (header.fields === null) {
    await items.return(undefined);
    throw new PipelineInputError(
      `${path}: the header (line ${header.line}) is not valid CSV (${header.problem}): ${JSON.stringify(header.raw.slice(0, 200))}.`,
    );
  }
  const headers = header.fields;
  const width = headers.length;
  let sampled = 0;
  const counted = (from: number): void => {
    for (let i = from; i < buffered.length; i++) if (buffered[i]!.fields?.length === width) sampled++;
  };
  counted(0);
  const wanted = Math.min(sampleRows, options.limit ?? Infinity);
  while (sampled < wanted && buffered.length < SAMPLE_ITEMS_CAP_FACTOR * sampleRows && !exhausted) {
    const before = buffered.length;
    await pull();
    counted(before);
  }
  if (buffered.length === 0 && exhausted) {
    throw new PipelineInputError(`${path} has a header (${headers.join(delimiter)}) but no data rows; there is nothing to load.`);
  }
  const sample: string[][] = [];
  for (const item of buffered) {
    if (sample.length >= wanted) break;
    if (item.fields?.length === width) sample.push(item.fields);
  }
  const types = inferCsvColumnTypes(sample, width);

  const notes: string[] = [];
  if (width === 1) {
    const other = [';', '\t', '|', ','].find((d) => d !== delimiter && headers[0]!.includes(d));
    if (other !== undefined)
      notes.push(
        `the file has a single column "${headers[0]}"; if its fields are separated by ${JSON.stringify(other)}, load it with --delimiter ${JSON.stringify(other)}.`,
      );
  }

  return {
    format: 'csv',
    headers,
    types,
    notes,
    async *copyChunks(sink: RowSink) {
      const encode = rowEncoder(sink, width);
      sink.writer.header();
      for (const item of buffered) {
        if (sink.done) break;
        encode(item);
      }
      buffered = [];
      while (!sink.done && !exhausted) {
        if (sink.chunkReady()) yield sink.writer.take();
        const next = await items.next();
        if (next.done) break;
        for (const item of next.value) {
          if (sink.done) break;
          encode(item);
        }
      }
      sink.writer.trailer();
      yield sink.writer.take();
    },
    async linesOfKeys(key: LoadColumn, keys: ReadonlySet<string>) {
      const found = new Map<string, number[]>();
      let seen = -1; // the header comes first
      read: for await (const batch of readCsv(path, { delimiter })) {
        for (const item of batch) {
          if (++seen === 0) continue;
          if (options.limit !== undefined && seen > options.limit) break read;
          if (item.fields?.length !== width) continue;
          const value = canonicalInteger(item.fields[key.source]!);
          if (value !== undefined && keys.has(value)) found.set(value, [...(found.get(value) ?? []), item.line]);
        }
      }
      return found;
    },
    close: async () => {
      await items.return(undefined);
    },
  };
}

/** An integer as PostgreSQL prints it (no sign for positives, no leading zeros), to match the text of a key. */
function canonicalInteger(text: string): string | undefined {
  const t = text.trim();
  return /^[+-]?\d+$/.test(t) ? BigInt(t).toString() : undefined;
}

/** Handles one CSV item: a row into the COPY stream, or into the quarantine with its reason. */
function rowEncoder(sink: RowSink, width: number): (item: CsvItem) => void {
  const plan: LoadPlan = sink.plan;
  const columns = plan.columns.filter((c) => c.source >= 0);
  const encoders: TextEncoder[] = columns.map((c) => TEXT_ENCODERS[c.type]);
  const w = sink.writer;
  return (item) => {
    sink.read++;
    const line = item.line;
    if (item.fields === null) {
      sink.rejects.add({ line, reason: 'malformed_csv', message: item.problem, raw: item.raw });
      return;
    }
    const fields = item.fields;
    if (fields.length !== width) {
      sink.rejects.add({ line, reason: 'wrong_field_count', message: `expected ${width} fields, found ${fields.length}`, fields });
      return;
    }
    const mark = sink.beginRow();
    for (let k = 0; k < columns.length; k++) {
      const column = columns[k]!;
      const value = fields[column.source]!;
      // Empty is NULL; so is a blank value in a typed column (PostgreSQL would refuse "  " as a number).
      if (value === '' || (column.type !== 'text' && value.charCodeAt(0) <= 32 && value.trim() === '')) {
        if (sink.nullValue(mark, column, line, () => fields)) continue;
        return;
      }
      const problem = encoders[k]!(w, value);
      if (problem !== undefined) {
        sink.reject(mark, { line, reason: 'invalid_value', column: column.name, message: `column "${column.name}" (${column.type}): ${problem}`, fields });
        return;
      }
    }
    sink.endRow();
  };
}
