import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as S3 from '@aws-sdk/client-s3';

/** How to reach the S3-compatible object store behind an s3:// artifact store (lib/config.ts's `s3`). */
export interface S3Settings {
  /** Endpoint URL of a non-AWS server (PIPEWRIGHT_S3_ENDPOINT); unset: AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; unset: the SDK's default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** A problem with the object store, told in terms of the setting to fix. */
export class ArtifactStoreError extends Error {
  override name = 'ArtifactStoreError';
}

/** Parts of a multipart upload: 8 MiB (more for files over 80 GB: S3 allows 10,000 parts), 4 in flight, so memory stays at ~32 MiB whatever the size. */
export const PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
const UPLOAD_CONCURRENCY = 4;
/** Attempts per request (the SDK's standard retry strategy: 5xx, throttling, connection faults, with backoff). */
const MAX_ATTEMPTS = 5;
/** Attempts at a download whose body stream broke (the SDK retries requests, not a body that stops half-way). */
const DOWNLOAD_ATTEMPTS = 3;

/** `s3://bucket/some/path` → bucket and path (no leading or trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`"${url}" is not an s3://bucket[/path] URL.`);
  const prefix = match[2]!.replace(/\/+$/, '');
  if (prefix.split('/').some((segment) => segment === '..' || segment === '.')) throw new Error(`"${url}" has a . or .. path segment.`);
  return { bucket: match[1]!, prefix };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'CredentialsProviderError',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/**
 * Whether the request never got an answer (refused, unresolvable, reset, timed out). The code is
 * looked for in the message too: an error from another realm (a test sandbox) reaches here as
 * "AWS SDK error wrapper for Error: connect ECONNREFUSED ..." with no `code`.
 */
function networkFault(e: SdkError): string | undefined {
  for (const code of [e.code, e.name, e.Code]) if (code && (NETWORK_CODES.has(code) || code === 'TimeoutError' || code === 'RequestTimeout')) return code;
  const message = e.message ?? '';
  if (/socket hang up/i.test(message)) return 'ECONNRESET';
  return (message.match(/\bE[A-Z]{3,}\b/g) ?? []).find((c) => NETWORK_CODES.has(c));
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.Code === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/** The objects of an s3:// artifact store, through @aws-sdk/client-s3 (loaded on first use). */
export class S3Backend {
  readonly bucket: string;
  readonly prefix: string;
  private loaded: Promise<{ sdk: typeof S3; client: S3.S3Client }> | undefined;

  constructor(
    readonly url: string,
    private readonly settings: S3Settings,
    private readonly cacheDir: string,
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
  }

  uriOf(relative: string): string {
    return `s3://${this.bucket}/${this.keyOf(relative)}`;
  }

  cachePathOf(uri: string): string {
    const { bucket, prefix: key } = parseS3Url(uri);
    return path.join(this.cacheDir, bucket, ...key.split('/'));
  }

  private keyOf(relative: string): string {
    return this.prefix ? `${this.prefix}/${relative}` : relative;
  }

  private async sdk(): Promise<{ sdk: typeof S3; client: S3.S3Client }> {
    this.loaded ??= (async () => {
      const sdk = await import('@aws-sdk/client-s3');
      const { endpoint, region, forcePathStyle, accessKeyId, secretAccessKey } = this.settings;
      const client = new sdk.S3Client({
        region,
        forcePathStyle,
        ...(endpoint ? { endpoint } : {}),
        ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
        maxAttempts: MAX_ATTEMPTS,
        // Checksums only where S3 requires them: S3-compatible servers differ in the trailing
        // checksums newer SDKs add by default; the sha256 in every key is checked on download anyway.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: 5_000, socketTimeout: 120_000 },
      });
      return { sdk, client };
    })();
    return this.loaded;
  }

  async exists(uri: string): Promise<boolean> {
    const { bucket, prefix: key } = parseS3Url(uri);
    const { sdk, client } = await this.sdk();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw this.explain(err, `look up ${uri}`);
    }
  }

  /** Uploads `file` to `relative` unless an object is there already (same key, same bytes). */
  async publish(relative: string, file: string, bytes: number): Promise<void> {
    const uri = this.uriOf(relative);
    if (await this.exists(uri)) return;
    const key = this.keyOf(relative);
    const { sdk, client } = await this.sdk();
    const partBytes = Math.max(PART_BYTES, Math.ceil(bytes / MAX_PARTS));
    if (bytes <= partBytes) {
      try {
        await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: await fs.readFile(file), ContentLength: bytes }));
      } catch (err) {
        throw this.explain(err, `upload ${uri}`);
      }
      return;
    }
    await this.multipartUpload(uri, key, file, bytes, partBytes);
  }

  /**
   * A multipart upload read straight from the file, a part at a time (a part is a Buffer, so the
   * SDK can resend it on a retry). The object appears only when CompleteMultipartUpload succeeds;
   * on any failure the upload is aborted so its parts do not linger.
   */
  private async multipartUpload(uri: string, key: string, file: string, bytes: number, partBytes: number): Promise<void> {
    const { sdk, client } = await this.sdk();
    let uploadId: string | undefined;
    try {
      uploadId = (await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }))).UploadId;
      if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      const count = Math.ceil(bytes / partBytes);
      const parts: { PartNumber: number; ETag: string }[] = new Array(count);
      const handle = await fs.open(file, 'r');
      try {
        let next = 0;
        let failure: unknown;
        const worker = async (): Promise<void> => {
          while (failure === undefined && next < count) {
            const index = next++;
            const offset = index * partBytes;
            const body = Buffer.allocUnsafe(Math.min(partBytes, bytes - offset));
            try {
              await readFully(handle, body, offset);
              const { ETag } = await client.send(
                new sdk.UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: index + 1, Body: body, ContentLength: body.length }),
              );
              if (!ETag) throw new Error(`UploadPart ${index + 1} returned no ETag`);
              parts[index] = { PartNumber: index + 1, ETag };
            } catch (err) {
              failure ??= err;
            }
          }
        };
        // Every worker stops before the upload is aborted, so no part lands after the abort.
        await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, count) }, worker));
        if (failure !== undefined) throw failure;
      } finally {
        await handle.close();
      }
      await client.send(new sdk.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      if (uploadId) await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw this.explain(err, `upload ${uri}`);
    }
  }

  /**
   * Streams the object to a temp file beside `target`, checks its size and sha256, then renames it
   * into place: readers see a whole, verified copy or none, and concurrent downloads of one
   * artifact (threads, processes) each rename identical bytes.
   */
  async download(uri: string, target: string, sha256: string | undefined): Promise<void> {
    const { bucket, prefix: key } = parseS3Url(uri);
    const { sdk, client } = await this.sdk();
    await fs.mkdir(path.dirname(target), { recursive: true });
    for (let attempt = 1; ; attempt++) {
      const tmp = `${target}.${process.pid}-${randomBytes(6).toString('hex')}.download`;
      let response: S3.GetObjectCommandOutput;
      try {
        response = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (isNotFound(err) && (err as SdkError).name !== 'NoSuchBucket' && (err as SdkError).Code !== 'NoSuchBucket') {
          throw new ArtifactStoreError(`${uri} is not in the artifact store (deleted, or written to another store).`, { cause: err });
        }
        throw this.explain(err, `download ${uri}`);
      }
      try {
        const hash = createHash('sha256');
        let received = 0;
        await pipeline(
          response.Body as Readable,
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              hash.update(chunk);
              received += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(tmp),
        );
        if (response.ContentLength !== undefined && received !== response.ContentLength) {
          throw new Error(`received ${received} of ${response.ContentLength} bytes`);
        }
        const digest = hash.digest('hex');
        if (sha256 !== undefined && digest !== sha256) {
          throw new ArtifactStoreError(`${uri} in the object store does not match its content hash (sha256 ${digest}); the stored object is corrupt.`);
        }
        await fs.rename(tmp, target);
        return;
      } catch (err) {
        await fs.rm(tmp, { force: true });
        if (attempt >= DOWNLOAD_ATTEMPTS) throw err instanceof ArtifactStoreError ? err : this.explain(err, `download ${uri}`);
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /** One message naming the setting to fix: the bucket, the endpoint, or the credentials. */
  private explain(err: unknown, what: string): Error {
    if (err instanceof ArtifactStoreError) return err;
    const e = (err ?? {}) as SdkError;
    const code = e.Code ?? e.code ?? e.name ?? 'Error';
    const status = e.$metadata?.httpStatusCode;
    const where = this.settings.endpoint
      ? `${this.settings.endpoint} (PIPEWRIGHT_S3_ENDPOINT)`
      : `AWS S3 in ${this.settings.region} (PIPEWRIGHT_S3_ENDPOINT is unset)`;
    const detail = e.message ? `: ${e.message.replace(/^AWS SDK error wrapper for (\w*Error: )?/, '')}` : '';
    const fault = networkFault(e);
    let message: string;
    if (code === 'NoSuchBucket') {
      message =
        `Could not ${what}: the bucket "${this.bucket}" does not exist at ${where}. ` +
        `Create it, or set PIPEWRIGHT_ARTIFACT_STORE (now ${this.url}) to an existing bucket.`;
    } else if (fault) {
      message =
        `Could not ${what}: cannot reach the object store at ${where} (${fault === code ? '' : `${fault}, `}${code}${detail}). ` +
        `Check that the server is running and that PIPEWRIGHT_S3_ENDPOINT names it; \`pipewright up\` starts an embedded one when PIPEWRIGHT_S3_ENDPOINT is unset.`;
    } else if (CREDENTIAL_CODES.has(code) || status === 401 || status === 403) {
      message =
        `Could not ${what}: the object store at ${where} refused the credentials (${code}${detail}). ` +
        `Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (unset: the AWS SDK's default credential chain) and that they may read and write ${this.url}.`;
    } else if (status !== undefined && status >= 500) {
      message = `Could not ${what}: the object store at ${where} kept failing (HTTP ${status}, ${code}${detail}) after ${e.$metadata?.attempts ?? MAX_ATTEMPTS} attempts; try again later.`;
    } else {
      message = `Could not ${what} at ${where} (${code}${detail}).`;
    }
    return new ArtifactStoreError(message, { cause: err });
  }
}

async function readFully(handle: fs.FileHandle, buffer: Buffer, position: number): Promise<void> {
  for (let filled = 0; filled < buffer.length;) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) throw new Error(`the file ended ${buffer.length - filled} bytes early`);
    filled += bytesRead;
  }
}
