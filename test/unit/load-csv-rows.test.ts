import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsv, type CsvItem } from '../../lib/data/load/csv-rows';
import { mulberry32 } from '../../lib/random';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-load-csv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
async function read(content: string | Buffer, options: Parameters<typeof readCsv>[1] = {}): Promise<CsvItem[]> {
  const file = path.join(dir, `f${files++}.csv`);
  writeFileSync(file, content);
  const out: CsvItem[] = [];
  for await (const batch of readCsv(file, options)) out.push(...batch);
  return out;
}

/** Items as "line: fields" or "line: BAD raw", compact for comparing. */
const show = (items: CsvItem[]): string[] => items.map((i) => (i.fields ? `${i.line}: ${JSON.stringify(i.fields)}` : `${i.line}: BAD ${i.raw}`));

describe('readCsv', () => {
  test('quoted fields keep delimiters, doubled quotes and newlines; records are numbered by the line they start on', async () => {
    const items = await read('a,b,c\n1,"x, y",3\n2,"say ""hi""",4\n3,"two\nlines",5\n4,,6\n');
    expect(show(items)).toEqual(['1: ["a","b","c"]', '2: ["1","x, y","3"]', '3: ["2","say \\"hi\\"","4"]', '4: ["3","two\\nlines","5"]', '6: ["4","","6"]']);
  });

  test('CRLF line ends, a CRLF inside quotes, blank lines and a missing final newline', async () => {
    const items = await read('a,b\r\n1,"x\r\ny"\r\n\r\n2,z\r\n3,w');
    expect(show(items)).toEqual(['1: ["a","b"]', '2: ["1","x\\r\\ny"]', '5: ["2","z"]', '6: ["3","w"]']);
  });

  test('a byte-order mark is not part of the first header', async () => {
    const items = await read('\ufeffid,name\n1,x\n');
    expect(items[0]!.fields).toEqual(['id', 'name']);
  });

  test('rows with another field count are passed on as they are (the loader rejects them)', async () => {
    const items = await read('a,b,c\n1,2\n1,2,3,4\n');
    expect(items.map((i) => i.fields?.length)).toEqual([3, 2, 4]);
  });

  test('a stray quote costs its own line: the parser resumes on the next one', async () => {
    const items = await read('a,b\n1,"bad"x\n2,ok\n3,ab"c\n4,ok\n');
    expect(show(items)).toEqual(['1: ["a","b"]', '2: BAD 1,"bad"x', '3: ["2","ok"]', '4: BAD 3,ab"c', '5: ["4","ok"]']);
    const bad = items[1] as Extract<CsvItem, { fields: null }>;
    expect(bad.problem).toBe('malformed CSV: a quoted field is followed by other characters before the next delimiter');
    expect((items[3] as Extract<CsvItem, { fields: null }>).problem).toMatch(/^malformed CSV: a quote inside an unquoted field/);
  });

  test('an unclosed quote costs the line it opens on, not the rest of the file', async () => {
    const items = await read('a,b\n1,ok\n2,"never closed\n3,ok\n4,ok\n');
    expect(show(items)).toEqual(['1: ["a","b"]', '2: ["1","ok"]', '3: BAD 2,"never closed', '4: ["3","ok"]', '5: ["4","ok"]']);
    expect((items[2] as Extract<CsvItem, { fields: null }>).problem).toBe('malformed CSV: a quoted field is never closed');
  });

  test('a record over the size limit is malformed (an unclosed quote found early, without reading the whole file)', async () => {
    const items = await read(`a,b\n1,"${'x'.repeat(500)}\n2,ok\n`, { maxRecordChars: 100 });
    expect(items[1]!.fields).toBeNull();
    expect(items[1]!.line).toBe(2);
    expect((items[1] as Extract<CsvItem, { fields: null }>).problem).toMatch(/longer than 100 characters/);
    expect(show(items.slice(2))).toEqual(['3: ["2","ok"]']);
  });

  test('other delimiters', async () => {
    expect(show(await read('a;b\n1;"x;y"\n', { delimiter: ';' }))).toEqual(['1: ["a","b"]', '2: ["1","x;y"]']);
    expect(show(await read('a\tb\n1\tx y\n', { delimiter: '\t' }))).toEqual(['1: ["a","b"]', '2: ["1","x y"]']);
  });

  test('records and line numbers do not depend on where the file is split into chunks (random files, brute force)', async () => {
    const random = mulberry32(20241126);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const pieces = ['a', 'b c', 'ü', '😀', ',', '"', '\n', '\r\n', '', '12', 'x"y'];
    for (let round = 0; round < 8; round++) {
      const eol = round % 2 === 0 ? '\n' : '\r\n';
      let content = '';
      const expected: string[] = [];
      const lineAt = (): number => content.split('\n').length; // the line the next byte is on
      for (let r = 0; r < 40; r++) {
        if (random() < 0.1) content += eol; // a blank line, skipped
        if (r > 0 && random() < 0.08) {
          const line = lineAt();
          content += `9,"bad"x${eol}`;
          expected.push(`${line}: BAD 9,"bad"x`);
          continue;
        }
        const fields = Array.from({ length: 3 }, () => Array.from({ length: Math.floor(random() * 3) }, () => pick(pieces)).join(''));
        const quoted = fields.map((f) => (/[",\r\n]/.test(f) || random() < 0.2 ? `"${f.replace(/"/g, '""')}"` : f));
        expected.push(`${lineAt()}: ${JSON.stringify(fields)}`);
        content += quoted.join(',') + eol;
      }
      for (const chunkBytes of [1, 2, 5, 64, 1 << 16]) {
        expect(show(await read(content, { chunkBytes }))).toEqual(expected);
      }
    }
  });
});
