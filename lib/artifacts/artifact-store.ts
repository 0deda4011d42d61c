import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactRef } from '../../contracts/refs';
import type { PipewrightConfig } from '../config';
import { S3Backend, parseS3Url, type S3Settings } from './s3-backend';

export type { S3Settings } from './s3-backend';

/**
 * Where an artifact store is and how to reach it: plain data, so activities hand it to their task
 * threads. `url` is `file:///absolute/path` or `s3://bucket[/prefix]`.
 */
export interface ArtifactStoreSettings {
  url: string;
  /** Local copies of an s3:// store's artifacts (required for s3://; unused for file://). */
  cacheDir?: string;
  /** How to reach an s3:// store's object store. */
  s3?: S3Settings;
}

/** The store PIPEWRIGHT_ARTIFACT_STORE (+ PIPEWRIGHT_ARTIFACT_CACHE, PIPEWRIGHT_S3_*, AWS_*) names. */
export function artifactStoreSettings(config: Pick<PipewrightConfig, 'artifactStore' | 'artifactCacheDir' | 's3'>): ArtifactStoreSettings {
  if (!config.artifactStore.startsWith('s3://')) return { url: config.artifactStore };
  const { endpoint, region, forcePathStyle, accessKeyId, secretAccessKey } = config.s3;
  return {
    url: config.artifactStore,
    cacheDir: config.artifactCacheDir,
    s3: { region, forcePathStyle, ...(endpoint ? { endpoint } : {}), ...(accessKeyId ? { accessKeyId } : {}), ...(secretAccessKey ? { secretAccessKey } : {}) },
  };
}

/** A file:// store rooted at a local folder (tests and benchmarks use temp folders). */
export function fileStoreSettings(root: string): ArtifactStoreSettings {
  return { url: pathToFileURL(path.resolve(root)).href };
}

/** Where committed artifacts are published beyond the local folder, and read back from. */
interface RemoteBackend {
  /** `s3://bucket[/prefix]`. */
  readonly url: string;
  /** The URI of the artifact at `relative` (`<kind>/<ab>/<sha256><ext>`) under the store's prefix. */
  uriOf(relative: string): string;
  /** Makes the file visible at `relative` atomically (nothing, or all of it); a no-op when it is already there. */
  publish(relative: string, file: string, bytes: number): Promise<void>;
  /** Downloads `uri` to `target` through a temp file, checking its sha256 when given. */
  download(uri: string, target: string, sha256: string | undefined): Promise<void>;
  exists(uri: string): Promise<boolean>;
  /** Local path of the cached copy of `uri`. */
  cachePathOf(uri: string): string;
}

/**
 * Content-addressed, atomic artifact storage. An artifact's URI is derived from the sha256 of its
 * bytes, so writing the same bytes twice yields the same URI: activities that write artifacts are
 * idempotent.
 *
 * Writers fill a temp file in a local folder; on commit it is fsynced, hashed and moved to its
 * content address, so a crash never leaves a half-written artifact at a final URI. Two backends:
 * - file:// (`new ArtifactStore(root)`): the local folder is the store (a shared mount works across machines);
 * - s3:// (`openArtifactStore`): the committed file is first uploaded (one PUT, or a multipart upload
 *   aborted on any failure; S3 shows an object only once complete), then kept in the local cache at
 *   its content address so the writer's host never downloads it again.
 */
export class ArtifactStore {
  /**
   * @param root the store's folder (file://), or this store's folder in the local cache (s3://).
   * @param remote the object store behind an s3:// store; use openArtifactStore for one.
   */
  constructor(
    readonly root: string,
    private readonly remote?: RemoteBackend,
    private readonly options: Omit<ArtifactStoreSettings, 'url'> = {},
  ) {}

  static underHome(home: string): ArtifactStore {
    return new ArtifactStore(path.join(home, 'artifacts'));
  }

  /** `file:///root` or `s3://bucket[/prefix]`. */
  get url(): string {
    return this.remote?.url ?? pathToFileURL(this.root).href;
  }

  /** What opens this store again (in a task thread, say). */
  get settings(): ArtifactStoreSettings {
    return { url: this.url, ...this.options };
  }

  private finalPath(relative: string): string {
    return path.join(this.root, relative);
  }

  /** Store a buffer; returns its ref. */
  async putBytes(kind: string, ext: string, bytes: Uint8Array): Promise<ArtifactRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const target = this.finalPath(relativeKey(kind, sha256, ext));
    if (this.remote) {
      const tmp = await this.createTemp(kind);
      await writeSynced(tmp, bytes);
      return this.commitTemp(kind, ext, tmp);
    }
    if (!(await existsOrPrepareDir(target))) {
      const tmp = await this.createTemp(kind);
      await writeSynced(tmp, bytes);
      await fs.rename(tmp, target);
    }
    return { uri: pathToFileURL(target).href, sha256, bytes: bytes.byteLength };
  }

  async putJson(kind: string, value: unknown): Promise<ArtifactRef> {
    return this.putBytes(kind, '.json', Buffer.from(JSON.stringify(value)));
  }

  /**
   * Streams into the store: `write` receives a temp path to fill; the file is then hashed and
   * moved to its content address. For artifacts too large to hold in memory.
   */
  async putFile(kind: string, ext: string, write: (tmpPath: string) => Promise<void>): Promise<ArtifactRef> {
    const tmp = await this.createTemp(kind);
    try {
      await write(tmp);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return this.commitTemp(kind, ext, tmp);
  }

  /** A fresh temp path for an artifact of `kind`, to fill and then commitTemp (or delete). */
  async createTemp(kind: string): Promise<string> {
    // Temp files live beside their final place so the rename stays on one file system.
    const dir = path.join(this.root, kind, 'tmp');
    await fs.mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${randomBytes(8).toString('hex')}.part`);
  }

  /**
   * fsyncs a filled temp file, hashes it and moves it to its content address (or drops it if that
   * exists); for s3://, uploads it first (skipped when the object exists) and keeps it as the cached copy.
   */
  async commitTemp(kind: string, ext: string, tmp: string): Promise<ArtifactRef> {
    try {
      const handle = await fs.open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const { sha256, bytes } = await hashFile(tmp);
      const relative = relativeKey(kind, sha256, ext);
      const target = this.finalPath(relative);
      if (this.remote) {
        await this.remote.publish(relative, tmp, bytes);
        // The uploaded bytes become the cached copy (replacing any older copy: these are known good).
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.rename(tmp, target);
        await rememberVerified(target);
        return { uri: this.remote.uriOf(relative), sha256, bytes };
      }
      if (await existsOrPrepareDir(target)) await fs.rm(tmp, { force: true });
      else await fs.rename(tmp, target);
      return { uri: pathToFileURL(target).href, sha256, bytes };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Local path of one of this store's artifacts: the file itself, or its cached copy (downloaded when missing or corrupt). */
  async localPath(uri: string): Promise<string> {
    if (!this.remote) return fileArtifactPath(uri);
    const remote = this.remote;
    const target = remote.cachePathOf(uri);
    let pending = fetching.get(target);
    if (!pending) {
      pending = (async () => {
        const expected = contentHashOf(uri);
        if (await cachedCopyIsGood(target, expected)) return target;
        await remote.download(uri, target, expected);
        await rememberVerified(target);
        return target;
      })().finally(() => fetching.delete(target));
      fetching.set(target, pending);
    }
    return pending;
  }

  /** Whether the artifact is still in the store (HEAD for s3://). */
  async exists(uri: string): Promise<boolean> {
    if (!this.remote) return fileExists(fileArtifactPath(uri));
    return this.remote.exists(uri);
  }
}

/** The stores this process (or thread) opened, by settings: one client each, and what resolves s3:// URIs. */
const opened = new Map<string, ArtifactStore>();
/** Downloads in flight, by cache path: concurrent readers of one artifact share one download. */
const fetching = new Map<string, Promise<string>>();
/** Cached copies whose hash was checked, with the size and mtime they had then. */
const verified = new Map<string, string>();

/**
 * The store the settings name (memoised, so each is opened once per process or thread). An s3://
 * store also becomes the one that resolves its bucket's s3:// URIs in localArtifactPath and friends.
 */
export function openArtifactStore(settings: ArtifactStoreSettings): ArtifactStore {
  const key = JSON.stringify([settings.url, settings.cacheDir ?? null, settings.s3 ?? null]);
  const known = opened.get(key);
  if (known) {
    // Most recently opened first when two stores share a bucket.
    opened.delete(key);
    opened.set(key, known);
    return known;
  }
  let store: ArtifactStore;
  if (settings.url.startsWith('s3://')) {
    if (!settings.cacheDir) throw new Error(`the artifact store ${settings.url} needs a local cache folder (PIPEWRIGHT_ARTIFACT_CACHE).`);
    const { bucket, prefix } = parseS3Url(settings.url);
    const cacheDir = path.resolve(settings.cacheDir);
    const backend = new S3Backend(settings.url, settings.s3 ?? { region: 'us-east-1', forcePathStyle: false }, cacheDir);
    store = new ArtifactStore(path.join(cacheDir, bucket, ...(prefix ? prefix.split('/') : [])), backend, {
      cacheDir: settings.cacheDir,
      ...(settings.s3 ? { s3: settings.s3 } : {}),
    });
  } else if (settings.url.startsWith('file://')) {
    store = new ArtifactStore(fileURLToPath(settings.url));
  } else {
    throw new Error(`Unsupported artifact store "${settings.url}": PIPEWRIGHT_ARTIFACT_STORE takes file:///absolute/path or s3://bucket[/prefix].`);
  }
  opened.set(key, store);
  return store;
}

/** Settings of the s3:// stores this process opened, for a task thread to open too (see run-in-thread.ts). */
export function openedRemoteStores(): ArtifactStoreSettings[] {
  return [...opened.values()].filter((s) => s.url.startsWith('s3://')).map((s) => s.settings);
}

/** The opened store that serves an s3:// URI: the one whose URL prefixes it most closely (the latest opened of equals), else one of its bucket. */
function storeOf(uri: string): ArtifactStore {
  const { bucket } = parseS3Url(uri);
  const stores = [...opened.values()].reverse().filter((s) => s.url.startsWith('s3://'));
  const prefixing = stores.filter((s) => uri.startsWith(`${s.url}/`)).sort((a, b) => b.url.length - a.url.length);
  const found = prefixing[0] ?? stores.find((s) => parseS3Url(s.url).bucket === bucket);
  if (!found) {
    throw new Error(
      `Cannot read ${uri}: this process has no s3:// artifact store open for bucket "${bucket}". ` +
        `Set PIPEWRIGHT_ARTIFACT_STORE=s3://${bucket}[/prefix] (and PIPEWRIGHT_S3_ENDPOINT for a non-AWS server) for every pipewright process.`,
    );
  }
  return found;
}

function fileArtifactPath(uri: string): string {
  if (!uri.startsWith('file://')) throw new Error(`Unsupported artifact URI "${uri}": expected file:// or s3://.`);
  return fileURLToPath(uri);
}

/**
 * Local path of an artifact: the file of a file:// URI, or the verified cached copy of an s3://
 * one (downloaded first when missing or corrupt). s3:// URIs need their store opened in this
 * process (openArtifactStore; task threads get their caller's).
 */
export async function localArtifactPath(uri: string): Promise<string> {
  if (uri.startsWith('s3://')) return storeOf(uri).localPath(uri);
  return fileArtifactPath(uri);
}

/** Whether an artifact is still stored: the file for file://, the object (HEAD) for s3://. */
export async function artifactExists(uri: string): Promise<boolean> {
  if (uri.startsWith('s3://')) return storeOf(uri).exists(uri);
  if (!uri.startsWith('file://')) return false;
  return fileExists(fileURLToPath(uri));
}

export async function readArtifactBytes(ref: Pick<ArtifactRef, 'uri'>): Promise<Buffer> {
  return fs.readFile(await localArtifactPath(ref.uri));
}

export async function readArtifactJson<T>(ref: Pick<ArtifactRef, 'uri'>): Promise<T> {
  return JSON.parse((await readArtifactBytes(ref)).toString('utf8')) as T;
}

export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** `<kind>/<ab>/<sha256><ext>`: an artifact's place under the store's root or prefix. */
function relativeKey(kind: string, sha256: string, ext: string): string {
  return `${kind}/${sha256.slice(0, 2)}/${sha256}${ext}`;
}

/** The sha256 a content-addressed URI names (its file name), if it has one. */
function contentHashOf(uri: string): string | undefined {
  return /\/([0-9a-f]{64})(\.[^/]*)?$/.exec(uri)?.[1];
}

async function writeSynced(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

const statKey = (stat: { size: number; mtimeMs: number; ino: number }): string => `${stat.size}:${stat.mtimeMs}:${stat.ino}`;

async function rememberVerified(file: string): Promise<void> {
  verified.set(file, statKey(await fs.stat(file)));
}

/**
 * Whether the cached copy exists and holds the bytes its name promises. Each copy is hashed once
 * per process (again if its size or mtime changed since), so a corrupted copy is noticed and
 * replaced, without hashing large shards on every read.
 */
async function cachedCopyIsGood(file: string, sha256: string | undefined): Promise<boolean> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    return false;
  }
  if (verified.get(file) === statKey(stat)) return true;
  if (sha256 !== undefined && (await hashFile(file)).sha256 !== sha256) {
    verified.delete(file);
    return false;
  }
  verified.set(file, statKey(stat));
  return true;
}

/** True when the artifact is already stored; otherwise creates its directory so a rename can follow. */
async function existsOrPrepareDir(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    await fs.mkdir(path.dirname(file), { recursive: true });
    return false;
  }
}
