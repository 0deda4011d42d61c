import { CopyTextLineSplitter, parseCopyTextLine, unescapeCopyText, type CopyField } from '../../lib/data/copy-text';
import { mulberry32 } from '../../lib/random';

/**
 * An independent encoder for PostgreSQL's COPY TO text format, written from the documentation
 * (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"): backslash and the
 * control characters that would break the framing are backslash-escaped, NULL is \N.
 */
function copyEscape(value: CopyField): string {
  if (value === null) return '\\N';
  const map: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  let out = '';
  for (const ch of value) out += map[ch] ?? ch;
  return out;
}

function copyLine(fields: CopyField[]): string {
  return fields.map(copyEscape).join('\t');
}

/** Feeds `chunks` through a fresh splitter and returns every line, including the final partial one. */
function splitAll(chunks: Buffer[]): string[] {
  const splitter = new CopyTextLineSplitter();
  const lines: string[] = [];
  for (const chunk of chunks) lines.push(...splitter.push(chunk));
  lines.push(...splitter.end());
  return lines;
}

describe('parseCopyTextLine', () => {
  test('splits fields on tabs', () => {
    expect(parseCopyTextLine('1\tBOS\t2.5')).toEqual(['1', 'BOS', '2.5']);
  });

  test('reads \\N as NULL, but only when it is the whole field', () => {
    expect(parseCopyTextLine('\\N\tx\t\\N')).toEqual([null, 'x', null]);
    // An escaped backslash followed by N is the two-character string \N, not NULL.
    expect(parseCopyTextLine('\\\\N')).toEqual(['\\N']);
    expect(parseCopyTextLine('a\\N')).toEqual(['aN']);
  });

  test('keeps empty strings distinct from NULL', () => {
    expect(parseCopyTextLine('')).toEqual(['']);
    expect(parseCopyTextLine('\t\\N\t')).toEqual(['', null, '']);
  });

  test('an escaped tab stays inside its field', () => {
    expect(parseCopyTextLine('a\\tb\tc')).toEqual(['a\tb', 'c']);
  });

  test('an escaped newline and backslash are decoded', () => {
    expect(parseCopyTextLine('line1\\nline2\tC:\\\\dir')).toEqual(['line1\nline2', 'C:\\dir']);
  });
});

describe('unescapeCopyText', () => {
  test('decodes the single-character escapes', () => {
    expect(unescapeCopyText('\\b\\f\\n\\r\\t\\v\\\\')).toBe('\b\f\n\r\t\v\\');
  });

  test('decodes octal escapes of one to three digits', () => {
    expect(unescapeCopyText('\\101')).toBe('A'); // 0o101 = 65
    expect(unescapeCopyText('\\1')).toBe('\x01');
    expect(unescapeCopyText('\\0')).toBe('\x00');
    expect(unescapeCopyText('\\12x')).toBe('\nx'); // 0o12 = 10
    // At most three digits: the fourth is a literal.
    expect(unescapeCopyText('\\1234')).toBe('S4'); // 0o123 = 83 = 'S'
    // 8 and 9 are not octal digits.
    expect(unescapeCopyText('\\18')).toBe('\x018');
  });

  test('decodes hex escapes of one or two digits', () => {
    expect(unescapeCopyText('\\x41')).toBe('A');
    expect(unescapeCopyText('\\x4a')).toBe('J');
    expect(unescapeCopyText('\\x4A')).toBe('J');
    expect(unescapeCopyText('\\x7')).toBe('\x07');
    expect(unescapeCopyText('\\x41F')).toBe('AF'); // at most two digits
    expect(unescapeCopyText('\\x4g')).toBe('\x04g');
  });

  test('\\x without a hex digit is a plain x', () => {
    expect(unescapeCopyText('\\xg')).toBe('xg');
    expect(unescapeCopyText('\\x')).toBe('x');
  });

  test('any other escaped character stands for itself', () => {
    expect(unescapeCopyText('\\.\\q\\"')).toBe('.q"');
  });

  test('a trailing lone backslash is kept', () => {
    expect(unescapeCopyText('abc\\')).toBe('abc\\');
  });

  test('leaves text without backslashes untouched, including non-ASCII', () => {
    expect(unescapeCopyText('Zürich 日本 😀')).toBe('Zürich 日本 😀');
    expect(unescapeCopyText('caf\\xe9')).toBe('café');
  });

  test('round-trips random values through an independent COPY encoder', () => {
    const random = mulberry32(1234);
    const alphabet = ['a', 'Z', '0', ' ', '\\', '\t', '\n', '\r', '\b', '\f', '\v', 'N', 'x', '7', 'é', '日', '😀', '"', "'"];
    for (let row = 0; row < 500; row++) {
      const fields: CopyField[] = [];
      const width = 1 + Math.floor(random() * 6);
      for (let f = 0; f < width; f++) {
        if (random() < 0.15) {
          fields.push(null);
          continue;
        }
        let value = '';
        const length = Math.floor(random() * 8);
        for (let k = 0; k < length; k++) value += alphabet[Math.floor(random() * alphabet.length)];
        fields.push(value);
      }
      expect(parseCopyTextLine(copyLine(fields))).toEqual(fields);
    }
  });
});

describe('CopyTextLineSplitter', () => {
  test('returns complete lines without their newline', () => {
    expect(splitAll([Buffer.from('a\tb\nc\td\n')])).toEqual(['a\tb', 'c\td']);
  });

  test('holds back a partial line until its newline arrives', () => {
    const splitter = new CopyTextLineSplitter();
    expect(splitter.push(Buffer.from('1\tBO'))).toEqual([]);
    expect(splitter.push(Buffer.from('S\t2'))).toEqual([]);
    expect(splitter.push(Buffer.from('.5\n2\tJF'))).toEqual(['1\tBOS\t2.5']);
    expect(splitter.push(Buffer.from('K\t3\n'))).toEqual(['2\tJFK\t3']);
    expect(splitter.end()).toEqual([]);
  });

  test('end() returns a final line that has no newline, once', () => {
    const splitter = new CopyTextLineSplitter();
    expect(splitter.push(Buffer.from('a\nb'))).toEqual(['a']);
    expect(splitter.end()).toEqual(['b']);
    expect(splitter.end()).toEqual([]);
  });

  test('a chunk that ends exactly at a newline leaves nothing behind', () => {
    const splitter = new CopyTextLineSplitter();
    expect(splitter.push(Buffer.from('a\n'))).toEqual(['a']);
    expect(splitter.push(Buffer.from('b\n'))).toEqual(['b']);
    expect(splitter.end()).toEqual([]);
  });

  test('a chunk that is only a newline completes the carried line', () => {
    const splitter = new CopyTextLineSplitter();
    expect(splitter.push(Buffer.from('abc'))).toEqual([]);
    expect(splitter.push(Buffer.from('\n'))).toEqual(['abc']);
  });

  test('keeps empty lines', () => {
    expect(splitAll([Buffer.from('a\n\nb\n')])).toEqual(['a', '', 'b']);
  });

  test('decodes a two-byte UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('x\ncafé\tZürich\n', 'utf8');
    const e = bytes.indexOf(0xc3); // first byte of é
    expect(bytes[e + 1]).toBe(0xa9);
    const splitter = new CopyTextLineSplitter();
    expect(splitter.push(bytes.subarray(0, e + 1))).toEqual(['x']);
    expect(splitter.push(bytes.subarray(e + 1))).toEqual(['café\tZürich']);
    expect(splitter.end()).toEqual([]);
  });

  test('decodes a four-byte UTF-8 character delivered one byte per chunk', () => {
    const bytes = Buffer.from('😀\n', 'utf8');
    expect(bytes.length).toBe(5);
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(splitAll(chunks)).toEqual(['😀']);
  });

  test('random chunking never changes the lines', () => {
    const random = mulberry32(99);
    const rows: string[] = [];
    const pieces = ['BOS', 'Zürich', '日本語', '😀', '\\t', '\\\\', '\\N', '12.5', ''];
    for (let i = 0; i < 300; i++) {
      const fields: string[] = [];
      const width = 1 + Math.floor(random() * 4);
      for (let f = 0; f < width; f++) fields.push(pieces[Math.floor(random() * pieces.length)]! + pieces[Math.floor(random() * pieces.length)]!);
      rows.push(fields.join('\t'));
    }
    const bytes = Buffer.from(rows.join('\n') + '\n', 'utf8');
    for (let trial = 0; trial < 20; trial++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 16);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(splitAll(chunks)).toEqual(rows);
    }
  });
});
