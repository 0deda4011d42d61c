import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { CsvError, Parser } from 'csv-parse';

/** A CSV record as parsed: its fields, and the line it starts on (the header is line 1). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A line csv-parse could not read as a record (a stray or unclosed quote), as it is in the file. */
export interface MalformedCsvLine {
  line: number;
  fields: null;
  raw: string;
  problem: string;
}

export type CsvItem = CsvRecord | MalformedCsvLine;

export interface CsvReadOptions {
  delimiter?: string;
  /** A record longer than this is malformed (almost always an unclosed quote swallowing the file). */
  maxRecordChars?: number;
  chunkBytes?: number;
  /** Read only bytes [start, end) (whole records, e.g. a partition of the file), whose first line is `firstLine`. */
  start?: number;
  end?: number;
  firstLine?: number;
}

const DEFAULT_MAX_RECORD_CHARS = 8 << 20;
/** What a quarantined line keeps of itself. */
const MAX_RAW_CHARS = 64 << 10;

/**
 * Streams a CSV file as batches of records (one batch per chunk read), header included, in file
 * order, with memory bounded by the chunk and the longest record.
 *
 * csv-parse stops at the first malformed record. Rather than lose the rest of the file, the reader
 * quarantines the physical line where that record starts and starts a fresh parser on the next
 * line: a stray quote costs its own line, and an unclosed one costs at most `maxRecordChars` of
 * re-reading. Line numbers are counted here from the bytes, because csv-parse counts a CRLF
 * inside a quoted field as two lines.
 */
export async function* readCsv(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvItem[]> {
  const delimiter = options.delimiter ?? ',';
  const maxRecordChars = options.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
  const chunkBytes = options.chunkBytes ?? 256 << 10;
  const size = options.end ?? (await stat(path)).size;
  let start = options.start ?? 0; // byte where the current parser starts
  let lineBase = (options.firstLine ?? 1) - 1; // lines before `start`
  let newline: number | undefined; // '\n', or '\r' for a file with old Mac line ends
  while (start < size) {
    const lines = new LineCounter();
    let items: CsvItem[] = [];
    let lastEnd = 0; // bytes (from `start`) up to the end of the last record
    let linesBeforeLastEnd = 0;
    let emptyLinesSeen = 0;
    const parser = new Parser({ delimiter, bom: start === 0, relax_column_count: true, skip_empty_lines: true, max_record_size: maxRecordChars });
    parser.on('error', () => undefined); // reported through write()/end() below
    // Records are taken as 'data' events, which a flowing parser emits synchronously inside write():
    // parser.info then describes the record just parsed (csv-parse's `info`/on_record options would
    // build a snapshot object per record, which cost a third of the parse), and every record before a
    // malformed one arrives before write() reports the error (the async iterator drops them).
    parser.on('data', (record: string[]) => {
      const { bytes, empty_lines } = parser.info;
      items.push({ line: lineBase + linesBeforeLastEnd + (empty_lines - emptyLinesSeen) + 1, fields: record });
      emptyLinesSeen = empty_lines;
      lastEnd = bytes;
      linesBeforeLastEnd = lines.countTo(bytes);
    });
    await new Promise((resolve) => setImmediate(resolve)); // let the 'data' listener's resume() start the flow
    const stream = createReadStream(path, { start, end: size - 1, highWaterMark: chunkBytes });
    let failure: Error | undefined;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        newline ??= chunk.includes(0x0a) || !chunk.includes(0x0d) ? 0x0a : 0x0d;
        lines.push(chunk, newline);
        failure = await writeChunk(parser, chunk);
        if (parser.readableLength > 0) throw new Error('csv-parse buffered records instead of emitting them; line numbers would be wrong');
        if (items.length > 0) {
          yield items;
          items = [];
        }
        if (failure) break;
      }
      failure ??= await endParser(parser);
      if (items.length > 0) yield items;
    } finally {
      stream.destroy();
    }
    if (failure === undefined) return;
    if (!(failure instanceof CsvError)) throw failure;
    // Quarantine the line where the failing record starts, and go on from the next one.
    const bad = await readLineAt(path, start + lastEnd, newline ?? 0x0a);
    const line = lineBase + linesBeforeLastEnd + bad.blankLines + 1;
    yield [{ line, fields: null, raw: bad.text, problem: describeCsvError(failure, maxRecordChars) }];
    start = bad.next;
    lineBase = line;
  }
}

function writeChunk(parser: Parser, chunk: Buffer): Promise<Error | undefined> {
  return new Promise((resolve) => parser.write(chunk, (err) => resolve(err ?? undefined)));
}

function endParser(parser: Parser): Promise<Error | undefined> {
  return new Promise((resolve) => {
    parser.once('error', resolve);
    parser.once('finish', () => resolve(undefined));
    parser.end();
  });
}

/** What went wrong, in words that hold for the quarantined line (csv-parse's own messages name lines of the restarted parser). */
export function describeCsvError(err: CsvError, maxRecordChars: number): string {
  switch (err.code) {
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'malformed CSV: a quoted field is followed by other characters before the next delimiter';
    case 'INVALID_OPENING_QUOTE':
      return 'malformed CSV: a quote inside an unquoted field (quote the whole field and double the quote, e.g. "5\'11""")';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'malformed CSV: a quoted field is never closed';
    case 'CSV_MAX_RECORD_SIZE':
      return `malformed CSV: a record longer than ${maxRecordChars} characters (usually a quote that is never closed)`;
    default:
      return `malformed CSV: ${err.message.replace(/ (at|on) line \d+/g, '')}`;
  }
}

/** Counts line ends in the bytes read so far, up to any byte offset at or after the last one asked for. */
class LineCounter {
  private chunks: Buffer[] = [];
  private chunksStart = 0; // byte offset of chunks[0]
  private counted = 0; // bytes counted so far
  private total = 0; // line ends before `counted`
  private newline = 0x0a;

  push(chunk: Buffer, newline: number): void {
    this.chunks.push(chunk);
    this.newline = newline;
  }

  /** Line ends in bytes [0, end). */
  countTo(end: number): number {
    while (this.counted < end && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const from = this.counted - this.chunksStart;
      const to = Math.min(chunk.length, end - this.chunksStart);
      for (let i = chunk.indexOf(this.newline, from); i !== -1 && i < to; i = chunk.indexOf(this.newline, i + 1)) this.total++;
      this.counted = this.chunksStart + to;
      if (to === chunk.length) {
        this.chunks.shift();
        this.chunksStart += chunk.length;
      }
    }
    return this.total;
  }
}

/** The line at `offset` (after any blank lines, which it counts) and where the next one starts. */
async function readLineAt(path: string, offset: number, newline: number): Promise<{ text: string; blankLines: number; next: number }> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 << 10);
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let blankLines = 0;
    let inLine = false;
    let pos = offset;
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      let i = 0;
      if (!inLine) {
        while (i < bytesRead && (buf[i] === 0x0a || buf[i] === 0x0d)) {
          if (buf[i] === newline) blankLines++;
          i++;
        }
        if (i < bytesRead) inLine = true;
      }
      const end = inLine ? buf.indexOf(newline, i) : -1;
      const stop = end === -1 || end >= bytesRead ? bytesRead : end;
      if (keptBytes < MAX_RAW_CHARS * 4) {
        kept.push(Buffer.from(buf.subarray(i, stop)));
        keptBytes += stop - i;
      }
      if (end !== -1 && end < bytesRead) return { text: rawText(kept), blankLines, next: pos + end + 1 };
      pos += bytesRead;
    }
    return { text: rawText(kept), blankLines, next: pos };
  } finally {
    await file.close();
  }
}

function rawText(parts: Buffer[]): string {
  const text = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
  return text.length > MAX_RAW_CHARS ? `${text.slice(0, MAX_RAW_CHARS)}…` : text;
}
