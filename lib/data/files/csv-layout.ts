import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PipelineInputError } from '../../errors';
import { sanitiseColumnNames } from '../load/column-names';
import { readCsv } from '../load/csv-rows';
import { DEFAULT_SAMPLE_ROWS, inferCsvColumnTypes } from '../load/infer-column-types';
import type { SqlType } from '../load/sql-types';
import type { FilePiece } from '../partitions';
import { balancedCuts } from './balanced-cuts';

export interface CsvLayout {
  /** Column names (the header made into plain identifiers, as `pipewright load` makes them) and types. */
  columns: Array<{ name: string; type: SqlType }>;
  renamed: Array<{ header: string; name: string }>;
  /** Per partition, the byte ranges of files it reads. */
  partitions: FilePiece[][];
}

/** A record boundary: the byte where a record starts and the (1-based, physical) line it starts on. */
interface Boundary {
  pos: number;
  line: number;
}

/**
 * Record starts of a CSV file about every `every` bytes, and where the header ends. Quote-aware:
 * a newline inside a quoted field (RFC 4180; a doubled quote toggles twice) is no boundary, so a
 * byte range between two boundaries holds whole records. Newlines are found with indexOf (memchr),
 * not byte by byte.
 */
async function recordStarts(file: string, every: number): Promise<{ header: Boundary | null; starts: Boundary[]; size: number }> {
  const QUOTE = 0x22;
  const NEWLINE = 0x0a;
  let inQuote = false;
  let line = 1;
  let offset = 0;
  let header: Boundary | null = null;
  const starts: Boundary[] = [];
  let next = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let i = 0;
    while (i < chunk.length) {
      const quote = chunk.indexOf(QUOTE, i);
      if (inQuote) {
        // Count the newlines inside the quoted field, then leave it.
        const end = quote < 0 ? chunk.length : quote;
        for (let n = chunk.indexOf(NEWLINE, i); n >= 0 && n < end; n = chunk.indexOf(NEWLINE, n + 1)) line++;
        if (quote < 0) break;
        inQuote = false;
        i = quote + 1;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, i);
      if (newline >= 0 && (quote < 0 || newline < quote)) {
        line++;
        const start = offset + newline + 1;
        if (header === null) {
          header = { pos: start, line };
          next = start + every;
        } else if (start >= next) {
          starts.push({ pos: start, line });
          next = start + every;
        }
        i = newline + 1;
      } else if (quote >= 0) {
        inQuote = true;
        i = quote + 1;
      } else {
        break;
      }
    }
    offset += chunk.length;
  }
  return { header, starts, size: offset };
}

/** The header and the first rows of a CSV file. */
async function headerAndSample(file: string, delimiter: string): Promise<{ header: string[]; sample: string[][] }> {
  let header: string[] | null = null;
  const sample: string[][] = [];
  for await (const items of readCsv(file, { delimiter })) {
    for (const item of items) {
      if (item.fields === null) continue;
      if (header === null) header = item.fields;
      else sample.push(item.fields);
    }
    if (header !== null && sample.length >= DEFAULT_SAMPLE_ROWS) break;
  }
  if (header === null) throw new PipelineInputError(`source.path: ${file} is empty; a CSV source needs a header line and rows.`);
  return { header, sample };
}

/**
 * Reads the header of every file (they must agree) and a sample of the first to infer column types
 * (as `pipewright load` does; `types` overrides), then cuts the files' records into `count` byte
 * ranges of about equal size at record boundaries.
 */
export async function csvLayout(files: readonly string[], count: number, delimiter: string, types: Readonly<Record<string, SqlType>> = {}): Promise<CsvLayout> {
  const first = await headerAndSample(files[0]!, delimiter);
  for (const file of files.slice(1)) {
    const { header } = await headerAndSample(file, delimiter);
    if (header.join('\0') !== first.header.join('\0')) {
      throw new PipelineInputError(
        `source.path: ${file} has the header ${header.join(delimiter)}, unlike ${files[0]} (${first.header.join(delimiter)}); every file of a source must have the same columns.`,
      );
    }
  }
  const { names, renamed } = sanitiseColumnNames(first.header);
  for (const column of Object.keys(types)) {
    if (!names.includes(column)) throw new PipelineInputError(`source.types: "${column}" is not a column of ${files[0]} (it has: ${names.join(', ')}).`);
  }
  const inferred = inferCsvColumnTypes(first.sample, names.length);
  const columns = names.map((name, c) => ({ name, type: types[name] ?? inferred[c]! }));

  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  // Boundaries every 1/64th of a partition: cuts land within that of the exact byte.
  const every = Math.max(4096, Math.floor(totalBytes / (count * 64)));
  const scans = await Promise.all(files.map((f) => recordStarts(f, every)));
  // Each file's data (after its header) as a run of units between boundaries, in the concatenation of all files.
  const units: Array<{ fileIndex: number; start: Boundary; end: number; bytes: number }> = [];
  scans.forEach((scan, fileIndex) => {
    if (scan.header === null || scan.header.pos >= scan.size) return; // header only
    const bounds = [scan.header, ...scan.starts];
    bounds.forEach((b, i) => {
      const end = i + 1 < bounds.length ? bounds[i + 1]!.pos : scan.size;
      if (end > b.pos) units.push({ fileIndex, start: b, end, bytes: end - b.pos });
    });
  });
  const dataBytes = units.reduce((n, u) => n + u.bytes, 0);
  if (dataBytes === 0) throw new PipelineInputError(`source.path: ${files.length === 1 ? files[0] : `the ${files.length} files`} have a header but no rows.`);
  // Units go to partitions in order, each to the run its first byte falls in.
  const cuts = balancedCuts(dataBytes, count);
  const partitions: FilePiece[][] = Array.from({ length: cuts.length + 1 }, () => []);
  let before = 0;
  let p = 0;
  for (const u of units) {
    while (p < cuts.length && before >= cuts[p]!) p++;
    const pieces = partitions[p]!;
    const last = pieces[pieces.length - 1];
    if (last?.format === 'csv' && last.fileIndex === u.fileIndex && last.end === u.start.pos) last.end = u.end;
    else pieces.push({ format: 'csv', file: files[u.fileIndex]!, fileIndex: u.fileIndex, start: u.start.pos, end: u.end, firstLine: u.start.line });
    before += u.bytes;
  }
  return { columns, renamed, partitions: partitions.filter((pieces) => pieces.length > 0) };
}
