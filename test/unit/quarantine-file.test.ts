import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore, localArtifactPath } from '../../lib/artifacts/artifact-store';
import { QuarantineFile, type QuarantinedRow } from '../../lib/data/quarantine-file';

describe('QuarantineFile', () => {
  let root: string;
  let store: ArtifactStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-quarantine-'));
    store = new ArtifactStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const row = (i: number): QuarantinedRow => ({ key: i, reason: `"delay" is null`, fields: [i, null, 'BOS'] });
  const leftovers = (): string[] => readdirSync(path.join(root, 'quarantine', 'tmp'));

  test('writes every row, across many flushes, as NDJSON in order', async () => {
    const file = await QuarantineFile.open(store, 7);
    for (let i = 0; i < 100; i++) file.add(row(i));
    expect(file.count).toBe(100);
    const ref = (await file.commit())!;
    const lines = readFileSync(await localArtifactPath(ref.uri), 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l) as QuarantinedRow)).toEqual(Array.from({ length: 100 }, (_, i) => row(i)));
    expect(ref.bytes).toBe(Buffer.byteLength(lines.join('\n') + '\n'));
    expect(leftovers()).toEqual([]);
  });

  test('no bad rows: no artifact and no file left behind', async () => {
    const file = await QuarantineFile.open(store);
    expect(await file.commit()).toBeUndefined();
    expect(leftovers()).toEqual([]);
  });

  test('the same rows give the same content-addressed artifact (an idempotent retry)', async () => {
    const refs = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const file = await QuarantineFile.open(store, 3);
      for (let i = 0; i < 10; i++) file.add(row(i));
      refs.push(await file.commit());
    }
    expect(refs[1]).toEqual(refs[0]);
  });

  test('discard removes what a failed attempt wrote', async () => {
    const file = await QuarantineFile.open(store, 2);
    for (let i = 0; i < 5; i++) file.add(row(i));
    expect(leftovers()).toHaveLength(1);
    file.discard();
    expect(leftovers()).toEqual([]);
  });
});
