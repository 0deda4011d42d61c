/**
 * Incremental parser for PostgreSQL's COPY ... TO STDOUT text format: one row per line, fields
 * separated by tabs, NULL written as \N, and backslash escapes inside values.
 * https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-FILE-FORMATS
 */
export type CopyField = string | null;

const NEWLINE = 0x0a;

export class CopyTextLineSplitter {
  private rest: Buffer | null = null;

  /** Returns the complete lines in `chunk` (plus any carried-over prefix), without their newline. */
  push(chunk: Buffer): string[] {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const lastNewline = data.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      this.rest = data;
      return [];
    }
    // Splitting on the byte 0x0a is safe in UTF-8: it never occurs inside a multi-byte character.
    this.rest = lastNewline + 1 < data.length ? data.subarray(lastNewline + 1) : null;
    return data.toString('utf8', 0, lastNewline).split('\n');
  }

  /** Any bytes after the last newline (a final line without one). */
  end(): string[] {
    const rest = this.rest;
    this.rest = null;
    return rest && rest.length > 0 ? [rest.toString('utf8')] : [];
  }
}

export function parseCopyTextLine(line: string): CopyField[] {
  const raw = line.split('\t');
  const out: CopyField[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const field = raw[i]!;
    if (field === '\\N') out[i] = null;
    else out[i] = field.includes('\\') ? unescapeCopyText(field) : field;
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

export function unescapeCopyText(field: string): string {
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const ch = field[i]!;
    if (ch !== '\\' || i + 1 >= field.length) {
      out += ch;
      continue;
    }
    const next = field[++i]!;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
    } else if (next >= '0' && next <= '7') {
      let digits = next;
      while (digits.length < 3 && i + 1 < field.length && field[i + 1]! >= '0' && field[i + 1]! <= '7') digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 8));
    } else if (next === 'x' && i + 1 < field.length && /[0-9a-fA-F]/.test(field[i + 1]!)) {
      let digits = '';
      while (digits.length < 2 && i + 1 < field.length && /[0-9a-fA-F]/.test(field[i + 1]!)) digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 16));
    } else {
      out += next;
    }
  }
  return out;
}
