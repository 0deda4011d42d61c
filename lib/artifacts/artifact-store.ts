import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactRef } from '../../contracts/refs';

/**
 * Content-addressed, atomic artifact storage on the local file system (a shared mount works
 * across machines). An artifact's URI is derived from the sha256 of its bytes, so writing the
 * same bytes twice yields the same URI: activities that write artifacts are idempotent.
 *
 * Writes go to a temp file in the same directory, are fsynced, then renamed into place, so a
 * crash never leaves a half-written artifact at a final URI.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  static underHome(home: string): ArtifactStore {
    return new ArtifactStore(path.join(home, 'artifacts'));
  }

  private finalPath(kind: string, sha256: string, ext: string): string {
    return path.join(this.root, kind, sha256.slice(0, 2), `${sha256}${ext}`);
  }

  /** Store a buffer; returns its ref. */
  async putBytes(kind: string, ext: string, bytes: Uint8Array): Promise<ArtifactRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const target = this.finalPath(kind, sha256, ext);
    if (!(await existsOrPrepareDir(target))) {
      const tmp = await this.createTemp(kind);
      const handle = await fs.open(tmp, 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
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

  /** fsyncs a filled temp file, hashes it and moves it to its content address (or drops it if that exists). */
  async commitTemp(kind: string, ext: string, tmp: string): Promise<ArtifactRef> {
    try {
      const handle = await fs.open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const { sha256, bytes } = await hashFile(tmp);
      const target = this.finalPath(kind, sha256, ext);
      if (await existsOrPrepareDir(target)) await fs.rm(tmp, { force: true });
      else await fs.rename(tmp, target);
      return { uri: pathToFileURL(target).href, sha256, bytes };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
}

/** Local path of a file:// artifact URI. */
export function artifactPath(uri: string): string {
  if (!uri.startsWith('file://')) throw new Error(`Unsupported artifact URI "${uri}": only file:// is available in this build.`);
  return fileURLToPath(uri);
}

export async function readArtifactBytes(ref: Pick<ArtifactRef, 'uri'>): Promise<Buffer> {
  return fs.readFile(artifactPath(ref.uri));
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
