import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyTextLine, RejectLog } from '../../lib/data/load/rejects';

describe('RejectLog', () => {
  test('counts per reason and column, most frequent first, and keeps the first five in file order', () => {
    const log = new RejectLog('t');
    for (let line = 2; line < 12; line++)
      log.add({ line, reason: line % 3 === 0 ? 'wrong_field_count' : 'invalid_value', ...(line % 3 ? { column: 'n' } : {}), message: `m${line}` });
    const summary = log.summary();
    log.dispose();
    expect(summary.total).toBe(10);
    // lines 3, 6, 9 have the wrong field count; the other seven an invalid value in n
    expect(summary.counts).toEqual([
      { reason: 'invalid_value', column: 'n', count: 7 },
      { reason: 'wrong_field_count', count: 3 },
    ]);
    expect(summary.examples.map((r) => r.line)).toEqual([2, 3, 4, 5, 6]);
  });

  test('spills every reject to a temp file and removes it on dispose', () => {
    const spillDirs = (): string[] => readdirSync(os.tmpdir()).filter((f) => f.startsWith('pipewright-rejects-'));
    const before = new Set(spillDirs());
    const log = new RejectLog('t');
    // ~1.2 MiB of rejects crosses the flush threshold once.
    for (let line = 0; line < 12_000; line++) log.add({ line, reason: 'malformed_csv', message: 'x', raw: 'y'.repeat(100) });
    const created = spillDirs().filter((d) => !before.has(d));
    expect(created).toHaveLength(1);
    const spilled = readFileSync(path.join(os.tmpdir(), created[0]!, 'rejects.copy'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(spilled.length).toBeGreaterThan(0);
    expect(spilled[0]!.split('\t')).toEqual(['t', '0', 'malformed_csv', '\\N', 'x', '\\N', 'y'.repeat(100)]);
    log.dispose();
    expect(spillDirs().filter((d) => !before.has(d))).toEqual([]);
  });
});

describe('copyTextLine', () => {
  test("escapes COPY text's special characters, writes NULL as \\N and replaces NUL", () => {
    expect(copyTextLine(['a\tb', 'c\nd\re', 'back\\slash', null, 'x\0y'])).toBe('a\\tb\tc\\nd\\re\tback\\\\slash\t\\N\tx\uFFFDy\n');
  });
});
