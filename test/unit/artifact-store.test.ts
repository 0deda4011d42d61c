import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ArtifactStore,
  artifactExists,
  hashFile,
  localArtifactPath,
  openArtifactStore,
  readArtifactBytes,
  readArtifactJson,
} from '../../lib/artifacts/artifact-store';

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir`, as paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe('ArtifactStore', () => {
  let root: string;
  let store: ArtifactStore;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-artifacts-'));
    store = new ArtifactStore(root);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('putBytes stores bytes at a content address derived from their sha256', async () => {
    const bytes = Buffer.from('hello, artifacts');
    const digest = sha256(bytes);
    const ref = await store.putBytes('models', '.bin', bytes);
    expect(ref.sha256).toBe(digest);
    expect(ref.bytes).toBe(bytes.length);
    expect(ref.uri).toBe(pathToFileURL(path.join(root, 'models', digest.slice(0, 2), `${digest}.bin`)).href);
    expect(await fs.readFile(fileURLToPath(ref.uri))).toEqual(bytes);
    expect(await readArtifactBytes(ref)).toEqual(bytes);
  });

  test('the same bytes give the same URI, and a second put is a no-op', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    const first = await store.putBytes('shards', '.arrows', bytes);
    const file = await localArtifactPath(first.uri);
    const before = await fs.stat(file);
    const second = await store.putBytes('shards', '.arrows', Uint8Array.from(bytes));
    expect(second).toEqual(first);
    const after = await fs.stat(file);
    expect(after.ino).toBe(before.ino); // not replaced
    expect(after.mtimeMs).toBe(before.mtimeMs); // not rewritten
    expect(await listFiles(root)).toEqual([path.relative(root, file)]);
  });

  test('different bytes give different URIs', async () => {
    const a = await store.putBytes('blobs', '.bin', Buffer.from('a'));
    const b = await store.putBytes('blobs', '.bin', Buffer.from('b'));
    expect(a.uri).not.toBe(b.uri);
    expect((await readArtifactBytes(a)).toString()).toBe('a');
    expect((await readArtifactBytes(b)).toString()).toBe('b');
  });

  test('kind and extension are part of the address', async () => {
    const bytes = Buffer.from('same');
    const a = await store.putBytes('one', '.bin', bytes);
    const b = await store.putBytes('two', '.bin', bytes);
    const c = await store.putBytes('one', '.txt', bytes);
    expect(new Set([a.uri, b.uri, c.uri]).size).toBe(3);
    expect(a.sha256).toBe(b.sha256);
  });

  test('an empty artifact is stored too', async () => {
    const ref = await store.putBytes('empty', '.bin', new Uint8Array(0));
    expect(ref.bytes).toBe(0);
    expect(ref.sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'); // sha256 of nothing
    expect((await readArtifactBytes(ref)).length).toBe(0);
  });

  test('writes leave no temp files behind', async () => {
    await store.putBytes('models', '.bin', Buffer.from('x'));
    await store.putBytes('models', '.bin', Buffer.from('x'));
    await store.putJson('models', { y: 1 });
    await store.putFile('models', '.bin', (tmp) => fs.writeFile(tmp, 'z'));
    const files = await listFiles(root);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(files).toHaveLength(3);
    // The temp directory exists (beside the final files) but is empty.
    expect(await fs.readdir(path.join(root, 'models', 'tmp'))).toEqual([]);
  });

  test('putJson round-trips through readArtifactJson and is content-addressed', async () => {
    const value = { name: 'flights', metrics: { auc: 0.71 }, tags: ['a', 'b'], nothing: null };
    const ref = await store.putJson('transforms', value);
    expect(ref.uri.endsWith('.json')).toBe(true);
    expect(ref.sha256).toBe(sha256(JSON.stringify(value)));
    expect(await readArtifactJson(ref)).toEqual(value);
    expect((await store.putJson('transforms', JSON.parse(JSON.stringify(value)))).uri).toBe(ref.uri);
  });

  test('putFile streams a file into the store at its content address', async () => {
    const content = Buffer.alloc(300_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31) & 0xff;
    const ref = await store.putFile('shards', '.arrows', async (tmp) => {
      expect(path.dirname(tmp)).toBe(path.join(root, 'shards', 'tmp'));
      await fs.writeFile(tmp, content);
    });
    expect(ref.sha256).toBe(sha256(content));
    expect(ref.bytes).toBe(content.length);
    expect(await readArtifactBytes(ref)).toEqual(content);
    // Same content again: same ref, one stored file, no temp file left.
    const again = await store.putFile('shards', '.arrows', (tmp) => fs.writeFile(tmp, content));
    expect(again).toEqual(ref);
    expect(await listFiles(root)).toEqual([path.relative(root, await localArtifactPath(ref.uri))]);
  });

  test('putFile and putBytes agree on the address of the same bytes', async () => {
    const bytes = Buffer.from('identical content');
    const viaBytes = await store.putBytes('k', '.bin', bytes);
    const viaFile = await store.putFile('k', '.bin', (tmp) => fs.writeFile(tmp, bytes));
    expect(viaFile).toEqual(viaBytes);
  });

  test('a failing putFile writer removes its temp file and stores nothing', async () => {
    await expect(
      store.putFile('shards', '.arrows', async (tmp) => {
        await fs.writeFile(tmp, 'half a shard');
        throw new Error('source went away');
      }),
    ).rejects.toThrow('source went away');
    expect(await listFiles(root)).toEqual([]);
  });

  test('underHome keeps artifacts in <home>/artifacts', () => {
    expect(ArtifactStore.underHome('/var/pw').root).toBe(path.join('/var/pw', 'artifacts'));
  });
});

describe('localArtifactPath', () => {
  test('turns a file:// URI into a local path', async () => {
    const file = path.join(os.tmpdir(), 'with space', 'a.json');
    expect(await localArtifactPath(pathToFileURL(file).href)).toBe(file);
  });

  test('rejects other schemes with a clear message', async () => {
    await expect(localArtifactPath('http://host/key')).rejects.toThrow('Unsupported artifact URI "http://host/key": expected file:// or s3://.');
  });

  test('an s3:// URI needs its store opened in the process, and says which setting opens it', async () => {
    await expect(localArtifactPath('s3://never-opened-bucket/k/ab/x.json')).rejects.toThrow(
      'no s3:// artifact store open for bucket "never-opened-bucket". Set PIPEWRIGHT_ARTIFACT_STORE=s3://never-opened-bucket',
    );
  });
});

describe('openArtifactStore and artifactExists (file://)', () => {
  test('a file:// URL opens the folder it names, once', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pipewright-open-'));
    try {
      const store = openArtifactStore({ url: pathToFileURL(root).href });
      expect(store.root).toBe(root);
      expect(openArtifactStore({ url: pathToFileURL(root).href })).toBe(store);
      const ref = await store.putBytes('k', '.bin', Buffer.from('x'));
      expect(await artifactExists(ref.uri)).toBe(true);
      await fs.rm(await localArtifactPath(ref.uri));
      expect(await artifactExists(ref.uri)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('an unknown scheme names the setting', () => {
    expect(() => openArtifactStore({ url: 'gs://bucket' })).toThrow('PIPEWRIGHT_ARTIFACT_STORE takes file:///absolute/path or s3://bucket[/prefix]');
  });
});

describe('hashFile', () => {
  test('hashes a file the same way as hashing its bytes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-hash-'));
    try {
      const file = path.join(dir, 'f');
      const bytes = Buffer.from('x'.repeat(200_000) + 'y');
      await fs.writeFile(file, bytes);
      expect(await hashFile(file)).toEqual({ sha256: sha256(bytes), bytes: bytes.length });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
