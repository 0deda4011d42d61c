import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import {
  ArtifactStore,
  artifactExists,
  fileStoreSettings,
  localArtifactPath,
  openArtifactStore,
  readArtifactBytes,
  readArtifactJson,
  type ArtifactStoreSettings,
} from '../../lib/artifacts/artifact-store';
import { PART_BYTES } from '../../lib/artifacts/s3-backend';
import { loadSavedModel } from '../../lib/models/model-io';
import { modelSpecSchema } from '../../lib/spec/model-spec';
import { trainShards } from '../../lib/training/train-shards';
import { countBatches } from '../../lib/features/encoded-batches';
import type { FittedTransformV2 } from '../../lib/features/transform-format';
import { fitAndApplyLabels, labelRows, labelSpec, writeLabelShard } from './fixtures/label-shards';
import { freePort, startS3Server, type S3TestServer } from './fixtures/s3-server';

/**
 * The s3:// backend against a real S3-compatible server (gofakes3 on a free loopback port):
 * content addressing and idempotence, multipart uploads, the local cache and its hash checks,
 * failures that must leave nothing visible, the errors a user gets for a wrong setting, and the
 * transform and training stages running through it.
 */

const BUCKET = 'pw-test';
const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

let server: S3TestServer;
let scratch: string;
let cacheDir: string;

beforeAll(async () => {
  server = await startS3Server({ bucket: BUCKET });
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'pipewright-s3-test-'));
  cacheDir = path.join(scratch, 'cache');
});

afterEach(() => {
  jest.restoreAllMocks();
  rmSync(scratch, { recursive: true, force: true });
});

/** A store with a fresh prefix (tests share the bucket) and this test's cache. */
function freshStore(
  cache = cacheDir,
  prefix = `t-${randomBytes(4).toString('hex')}`,
): { store: ArtifactStore; settings: ArtifactStoreSettings; prefix: string } {
  const settings = server.store(`s3://${BUCKET}/${prefix}`, cache);
  return { store: openArtifactStore(settings), settings, prefix };
}

async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  } catch {
    return [];
  }
}

/** Records every command the SDK sends (by name), calling through. */
function recordCommands(): string[] {
  const names: string[] = [];
  const send = S3Client.prototype.send as (this: S3Client, command: object) => Promise<unknown>;
  jest.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, command: object) {
    names.push(command.constructor.name);
    return send.call(this, command);
  } as never);
  return names;
}

describe('s3:// artifact store', () => {
  test('the same bytes give the same URI and one object; the key is <prefix>/<kind>/<ab>/<sha256><ext>', async () => {
    const { store, prefix } = freshStore();
    const bytes = Buffer.from('hello, object store');
    const digest = sha256(bytes);
    const first = await store.putBytes('models', '.bin', bytes);
    expect(first).toEqual({ uri: `s3://${BUCKET}/${prefix}/models/${digest.slice(0, 2)}/${digest}.bin`, sha256: digest, bytes: bytes.length });
    const commands = recordCommands();
    const second = await store.putBytes('models', '.bin', Buffer.from(bytes));
    expect(second).toEqual(first);
    // The second put found the object (HEAD) and uploaded nothing.
    expect(commands).toEqual(['HeadObjectCommand']);
    expect((await server.keys(BUCKET)).filter((k) => k.startsWith(`${prefix}/`))).toEqual([`${prefix}/models/${digest.slice(0, 2)}/${digest}.bin`]);
    expect(await readArtifactBytes(first)).toEqual(bytes);
    // putJson and putFile agree with putBytes on the address of the same bytes.
    const json = await store.putJson('k', { a: 1 });
    expect(json.uri.endsWith(`${sha256('{"a":1}')}.json`)).toBe(true);
    expect(await store.putFile('k', '.json', (tmp) => fs.writeFile(tmp, '{"a":1}'))).toEqual(json);
    expect(await readArtifactJson(json)).toEqual({ a: 1 });
  });

  test('the writer keeps its upload as the cached copy: reading it back downloads nothing', async () => {
    const { store } = freshStore();
    const ref = await store.putBytes('k', '.bin', Buffer.from('cached'));
    const commands = recordCommands();
    const file = await localArtifactPath(ref.uri);
    expect(file.startsWith(cacheDir)).toBe(true);
    expect(await fs.readFile(file, 'utf8')).toBe('cached');
    expect(commands).toEqual([]);
    // No temp file is left in the cache.
    expect((await filesUnder(cacheDir)).filter((f) => f.endsWith('.part') || f.endsWith('.download'))).toEqual([]);
  });

  test('putFile streams a file larger than a part as a multipart upload, and it reads back whole', async () => {
    const { store, prefix } = freshStore();
    const size = 40 * 1024 * 1024 + 12_345;
    const hash = createHash('sha256');
    const commands = recordCommands();
    const ref = await store.putFile('shards', '.arrows', async (tmp) => {
      const handle = await fs.open(tmp, 'w');
      try {
        // Written a MiB at a time: the test holds no copy of the whole file either.
        for (let written = 0, i = 0; written < size; i++) {
          const chunk = Buffer.alloc(Math.min(1024 * 1024, size - written), i & 0xff);
          chunk.writeUInt32LE(i, 0);
          hash.update(chunk);
          await handle.write(chunk);
          written += chunk.length;
        }
      } finally {
        await handle.close();
      }
    });
    expect(ref.bytes).toBe(size);
    expect(ref.sha256).toBe(hash.digest('hex'));
    const parts = Math.ceil(size / PART_BYTES);
    expect(commands.filter((c) => c === 'CreateMultipartUploadCommand')).toHaveLength(1);
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(parts);
    expect(commands.filter((c) => c === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    expect(commands).not.toContain('PutObjectCommand');
    const key = ref.uri.slice(`s3://${BUCKET}/`.length);
    expect((await fs.stat(path.join(server.dataDir, 'buckets', BUCKET, key))).size).toBe(size);
    // Another host (an empty cache) downloads it, checked against its hash.
    const other = freshStore(path.join(scratch, 'other-cache'), prefix);
    const copy = await other.store.localPath(ref.uri);
    expect(copy.startsWith(path.join(scratch, 'other-cache'))).toBe(true);
    expect((await fs.stat(copy)).size).toBe(size);
  });

  test('with the cache deleted, a read downloads the artifact again; concurrent reads share one download', async () => {
    const { store } = freshStore();
    const bytes = randomBytes(300_000);
    const ref = await store.putBytes('shards', '.arrows', bytes);
    rmSync(cacheDir, { recursive: true, force: true });
    const commands = recordCommands();
    const paths = await Promise.all(Array.from({ length: 5 }, () => localArtifactPath(ref.uri)));
    expect(new Set(paths).size).toBe(1);
    expect(commands.filter((c) => c === 'GetObjectCommand')).toHaveLength(1);
    expect(await fs.readFile(paths[0]!)).toEqual(bytes);
    expect((await filesUnder(cacheDir)).filter((f) => f.endsWith('.download'))).toEqual([]);
  });

  test('a corrupted cached copy is caught by its hash and downloaded again', async () => {
    const { store } = freshStore();
    const bytes = Buffer.from('the real bytes of this artifact');
    const ref = await store.putBytes('k', '.bin', bytes);
    const file = await localArtifactPath(ref.uri);
    // Same size, different bytes (a bit flip on disk, a partial copy by hand).
    await fs.writeFile(file, Buffer.from('the REAL bytes of this artifact'));
    const commands = recordCommands();
    expect(await localArtifactPath(ref.uri)).toBe(file);
    expect(await fs.readFile(file)).toEqual(bytes);
    expect(commands).toEqual(['GetObjectCommand']);
  });

  test('a writer that fails uploads nothing and leaves no temp file', async () => {
    const { store, prefix } = freshStore();
    await expect(
      store.putFile('shards', '.arrows', async (tmp) => {
        await fs.writeFile(tmp, 'half a shard');
        throw new Error('source went away');
      }),
    ).rejects.toThrow('source went away');
    expect((await server.keys(BUCKET)).filter((k) => k.startsWith(`${prefix}/`))).toEqual([]);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  test('the server dying mid-upload leaves no object at the final key, and a retry publishes it whole', async () => {
    const { store, prefix } = freshStore();
    const content = randomBytes(3 * PART_BYTES + 1000);
    const digest = sha256(content);
    const send = S3Client.prototype.send as (this: S3Client, command: object) => Promise<unknown>;
    let killed = false;
    jest.spyOn(S3Client.prototype, 'send').mockImplementation(async function (this: S3Client, command: object) {
      if (!killed && command instanceof UploadPartCommand && command.input.PartNumber === 2) {
        killed = true;
        await server.kill();
      }
      return send.call(this, command);
    } as never);
    const failed = await store.putFile('shards', '.arrows', (tmp) => fs.writeFile(tmp, content)).catch((err: Error) => err);
    expect(killed).toBe(true);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/cannot reach the object store at http:\/\/127\.0\.0\.1:\d+ \(PIPEWRIGHT_S3_ENDPOINT\)/);
    jest.restoreAllMocks();
    await server.restart();
    const uri = `s3://${BUCKET}/${prefix}/shards/${digest.slice(0, 2)}/${digest}.arrows`;
    expect(await artifactExists(uri)).toBe(false);
    expect((await server.keys(BUCKET)).filter((k) => k.startsWith(`${prefix}/`))).toEqual([]);
    // Nothing at the final place in the cache either, and no temp file.
    expect(await filesUnder(cacheDir)).toEqual([]);
    // The activity's retry writes the same bytes again: same URI, now complete.
    const ref = await store.putFile('shards', '.arrows', (tmp) => fs.writeFile(tmp, content));
    expect(ref.uri).toBe(uri);
    expect(await artifactExists(uri)).toBe(true);
  });

  test('an upload that fails after CreateMultipartUpload is aborted', async () => {
    const { store } = freshStore();
    const send = S3Client.prototype.send as (this: S3Client, command: object) => Promise<unknown>;
    const names: string[] = [];
    jest.spyOn(S3Client.prototype, 'send').mockImplementation(async function (this: S3Client, command: object) {
      names.push(command.constructor.name);
      if (command instanceof CompleteMultipartUploadCommand) throw Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError' });
      return send.call(this, command);
    } as never);
    await expect(store.putFile('k', '.bin', (tmp) => fs.writeFile(tmp, randomBytes(PART_BYTES + 1)))).rejects.toThrow(/Could not upload s3:\/\//);
    expect(names[0]).toBe('HeadObjectCommand');
    expect(names).toContain(CreateMultipartUploadCommand.name);
    expect(names.at(-1)).toBe('AbortMultipartUploadCommand');
  });

  test('artifactExists asks the object store (HEAD): a deleted object is a miss', async () => {
    const { store } = freshStore();
    const ref = await store.putBytes('k', '.bin', Buffer.from('here'));
    expect(await artifactExists(ref.uri)).toBe(true);
    const client = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ref.uri.slice(`s3://${BUCKET}/`.length) }));
    client.destroy();
    expect(await artifactExists(ref.uri)).toBe(false);
    // The cached copy does not make it exist; a read says what is missing.
    rmSync(cacheDir, { recursive: true, force: true });
    await expect(readArtifactBytes(ref)).rejects.toThrow(`${ref.uri} is not in the artifact store`);
  });

  test('a store under a bucket with no prefix keys artifacts from the bucket root', async () => {
    const store = openArtifactStore(server.store(`s3://${BUCKET}`, cacheDir));
    const ref = await store.putBytes('rootkind', '.txt', Buffer.from('at the root'));
    expect(ref.uri).toMatch(new RegExp(`^s3://${BUCKET}/rootkind/[0-9a-f]{2}/[0-9a-f]{64}\\.txt$`));
    expect(store.url).toBe(`s3://${BUCKET}`);
    expect(await readArtifactBytes(ref)).toEqual(Buffer.from('at the root'));
  });
});

describe('s3:// errors name the setting to fix', () => {
  test('a bucket that does not exist', async () => {
    const bare = await startS3Server({ bucket: null });
    try {
      const store = openArtifactStore(bare.store('s3://no-such-bucket/p', cacheDir));
      await expect(store.putBytes('k', '.bin', Buffer.from('x'))).rejects.toThrow(
        `the bucket "no-such-bucket" does not exist at ${bare.endpoint} (PIPEWRIGHT_S3_ENDPOINT). Create it, or set PIPEWRIGHT_ARTIFACT_STORE (now s3://no-such-bucket/p) to an existing bucket.`,
      );
      await expect(store.localPath(`s3://no-such-bucket/p/k/ab/${'a'.repeat(64)}.bin`)).rejects.toThrow('the bucket "no-such-bucket" does not exist');
      // A large file fails the same way, at CreateMultipartUpload.
      await expect(store.putFile('k', '.bin', (tmp) => fs.writeFile(tmp, Buffer.alloc(PART_BYTES + 1)))).rejects.toThrow('does not exist');
      expect((await filesUnder(cacheDir)).filter((f) => !f.endsWith(path.sep + 'tmp'))).toEqual([]);
    } finally {
      await bare.stop();
    }
  });

  test('an unreachable endpoint', async () => {
    const port = await freePort();
    const settings: ArtifactStoreSettings = {
      url: 's3://pw-test/unreachable',
      cacheDir,
      s3: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 'b' },
    };
    const store = openArtifactStore(settings);
    await expect(store.putBytes('k', '.bin', Buffer.from('x'))).rejects.toThrow(
      new RegExp(
        `cannot reach the object store at http://127\\.0\\.0\\.1:${port} \\(PIPEWRIGHT_S3_ENDPOINT\\) \\(ECONNREFUSED.*Check that the server is running`,
      ),
    );
    await expect(store.exists(`s3://pw-test/unreachable/k/ab/${'b'.repeat(64)}.bin`)).rejects.toThrow('PIPEWRIGHT_S3_ENDPOINT');
  });

  describe('through a proxy that misbehaves', () => {
    let proxy: http.Server;
    let endpoint: string;
    let failNext = 0;
    let failWith: { status: number; code: string } = { status: 500, code: 'InternalError' };
    let requests = 0;

    beforeAll(async () => {
      proxy = http.createServer((req, res) => {
        requests++;
        if (failNext > 0) {
          failNext--;
          req.resume();
          res.writeHead(failWith.status, { 'content-type': 'application/xml' });
          res.end(
            req.method === 'HEAD'
              ? undefined
              : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${failWith.code}</Code><Message>refused by the test</Message></Error>`,
          );
          return;
        }
        const upstream = http.request({ host: '127.0.0.1', port: server.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      });
      const port = await freePort();
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => proxy.close(resolve));
    });

    beforeEach(() => {
      requests = 0;
      failNext = 0;
    });

    const viaProxy = (prefix: string): ArtifactStore =>
      openArtifactStore({
        url: `s3://${BUCKET}/${prefix}`,
        cacheDir,
        s3: { endpoint, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 'b' },
      });

    test('transient 5xx answers are retried, and the write goes through', async () => {
      failWith = { status: 503, code: 'ServiceUnavailable' };
      failNext = 3;
      const ref = await viaProxy('flaky').putBytes('k', '.bin', Buffer.from('after a few 503s'));
      expect(requests).toBeGreaterThanOrEqual(5); // 3 refused + HEAD + PUT
      expect(await artifactExists(ref.uri)).toBe(true);
      expect(await readArtifactBytes(ref)).toEqual(Buffer.from('after a few 503s'));
    });

    test('a server that keeps failing gives up after the retries, saying so', async () => {
      failWith = { status: 500, code: 'InternalError' };
      failNext = 1000;
      await expect(viaProxy('broken').putBytes('k', '.bin', Buffer.from('never'))).rejects.toThrow(
        /kept failing \(HTTP 500, .*\) after 5 attempts; try again later/,
      );
      expect(requests).toBe(5);
    });

    test('wrong credentials', async () => {
      failWith = { status: 403, code: 'InvalidAccessKeyId' };
      failNext = 1000;
      const store = viaProxy('creds');
      const message = /refused the credentials \(.*\)\. Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/;
      await expect(store.putBytes('k', '.bin', Buffer.from('x'))).rejects.toThrow(message);
      await expect(store.localPath(`s3://${BUCKET}/creds/k/ab/${'c'.repeat(64)}.bin`)).rejects.toThrow(/InvalidAccessKeyId.*AWS_ACCESS_KEY_ID/);
    });
  });
});

describe('the stages over an s3:// store', () => {
  test('transform, training and a model load give the bytes they give on file://, with every read through the cache', async () => {
    const rows = labelRows(1200, 3, true);
    const spec = labelSpec({ column: 'cls', classes: 'auto' });

    async function pipeline(settings: ArtifactStoreSettings) {
      const store = openArtifactStore(settings);
      const { shard } = await writeLabelShard(store, rows);
      const { ref, encoded, labels, transform } = await fitAndApplyLabels(settings, spec, shard);
      const model = modelSpecSchema.parse({ type: 'logistic', batchSize: 64, learningRate: 0.1, seed: 2 });
      const transformRef = { ...ref, inputDim: transform.inputDim, trainRows: encoded.trainRows };
      const batches = await countBatches(transform, [encoded], { split: 'train', batchSize: model.batchSize });
      const trained = await trainShards(
        {
          model,
          transform: transformRef,
          shards: [encoded],
          epoch: 0,
          round: 0,
          worker: 0,
          fromBatch: 0,
          toBatch: batches,
          batchesPerEpoch: batches,
          artifactStore: settings,
        },
        () => undefined,
      );
      return { shard, ref, encoded, labels, checkpoint: trained.checkpoint };
    }

    const onFile = await pipeline(fileStoreSettings(path.join(scratch, 'file-store')));
    const s3 = freshStore();
    const onS3 = await pipeline(s3.settings);
    for (const key of ['shard', 'ref', 'encoded', 'checkpoint'] as const) {
      expect(onS3[key].uri.startsWith(`s3://${BUCKET}/${s3.prefix}/`)).toBe(true);
      expect(onS3[key].sha256).toBe(onFile[key].sha256);
    }
    expect(onS3.labels).toEqual(onFile.labels);

    // Another host (the model server, say) with an empty cache loads the model and its transform from the store.
    rmSync(cacheDir, { recursive: true, force: true });
    const fitted = await readArtifactJson<FittedTransformV2>(onS3.ref);
    const { model } = await loadSavedModel(onS3.checkpoint, fitted);
    expect(model.outputs[0]!.shape).toEqual([null, 4]);
    model.dispose();
    expect(await fs.readFile(await localArtifactPath(onS3.encoded.uri))).toEqual(await fs.readFile(await localArtifactPath(onFile.encoded.uri)));
  });
});
