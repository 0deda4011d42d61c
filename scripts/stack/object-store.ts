import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { artifactStoreSettings, type ArtifactStoreSettings } from '../../lib/artifacts/artifact-store';
import { parseS3Url } from '../../lib/artifacts/s3-backend';
import { childEnvironment, type PipewrightConfig } from '../../lib/config';
import { bindAddress, notHere } from './bind-host';
import { GiveUp, startProcess, waitFor, type ManagedProcess } from './child-process';
import { ensureGoBinary, findGoBinary, type BinaryConfig, type GoBinary } from './go-binary';
import type { EmbeddedService } from './supervisor';

/** The embedded S3-compatible server pipewright builds when none is installed. */
export const GOFAKES3_MODULE = 'github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0';

const GOFAKES3: GoBinary = {
  name: 'gofakes3',
  title: 'the embedded S3 server (gofakes3)',
  module: GOFAKES3_MODULE,
  // No flag makes it exit 0; `-h` prints the usage and exits 1.
  probeArgs: ['-h'],
  probeExitCode: 1,
  searchPath: true,
};

/**
 * Credentials of the embedded server. gofakes3 checks none, but the AWS SDK signs every request,
 * so the stack hands its children these fixed local values.
 */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'pipewright', secretAccessKey: 'pipewright-local-s3' } as const;

/** Finds an existing gofakes3 without building: PATH, then the pipewright cache. */
export function findGofakes3(config: BinaryConfig): string | undefined {
  return findGoBinary(GOFAKES3, config);
}

/** The path of a working gofakes3: found, else built with `go install` into the cache (seconds). */
export async function ensureGofakes3(config: BinaryConfig, log: (line: string) => void = () => undefined): Promise<string> {
  try {
    return await ensureGoBinary(GOFAKES3, config, log);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\nOr set PIPEWRIGHT_S3_ENDPOINT to an S3-compatible server you run (MinIO, ...), or use a file:// PIPEWRIGHT_ARTIFACT_STORE.`,
      {
        cause: err,
      },
    );
  }
}

/** The arguments that run gofakes3 on `host:port` with its data under `dataDir`, creating `bucket` if it is missing. */
export function gofakes3Args(dataDir: string, port: number, bucket: string | undefined, host = '127.0.0.1'): string[] {
  return ['-backend', 'fs', '-fs.path', dataDir, '-fs.create', '-host', `${host}:${port}`, ...(bucket ? ['-initialbucket', bucket] : []), '-quiet'];
}

/** Resolves once an S3 server answers HTTP on `endpoint` (any status: it is up). */
export async function waitForS3(endpoint: string, proc: ManagedProcess | undefined, timeoutMs = 30_000): Promise<void> {
  await waitFor(`the S3 server at ${endpoint}`, timeoutMs, async () => {
    if (proc && proc.child.exitCode !== null) throw new GiveUp(`it exited with code ${proc.child.exitCode}; see ${proc.logFile}`);
    await fetch(endpoint, { signal: AbortSignal.timeout(1_000) });
    return true;
  });
}

export interface ObjectStoreEndpoint {
  /** http://<bind host, or loopback for 0.0.0.0>:<PIPEWRIGHT_S3_PORT> */
  endpoint: string;
  /** What the stack's children get in their environment to reach it. */
  env: Record<string, string>;
  embedded: EmbeddedService;
}

/**
 * For an s3:// PIPEWRIGHT_ARTIFACT_STORE without PIPEWRIGHT_S3_ENDPOINT, the embedded S3 server
 * (gofakes3) on PIPEWRIGHT_BIND_HOST (loopback by default) with its data under PIPEWRIGHT_HOME/s3 and the store's bucket created;
 * undefined otherwise (a file:// store, or a server of the user's own).
 */
export async function startObjectStore(config: PipewrightConfig, log: (line: string) => void): Promise<ObjectStoreEndpoint | undefined> {
  if (!config.artifactStore.startsWith('s3://') || config.s3.endpoint) return undefined;
  const binary = await ensureGofakes3(config, log);
  const { bucket } = parseS3Url(config.artifactStore);
  const dataDir = path.join(config.home, 's3');
  mkdirSync(dataDir, { recursive: true });
  const bind = bindAddress(config.bindHost);
  const endpoint = `http://${bind.advertise}:${config.s3.embeddedPort}`;
  const start = async (): Promise<ManagedProcess> => {
    const args = gofakes3Args(dataDir, config.s3.embeddedPort, bucket, bind.listen);
    const server = startProcess('s3', binary, args, childEnvironment(), path.join(config.home, 'logs'));
    await waitForS3(endpoint, server).catch(async (err: unknown) => {
      await server.stop('SIGKILL');
      throw new Error(
        `the embedded S3 server did not start on port ${config.s3.embeddedPort} (${(err as Error).message}); is the port taken${notHere(bind.listen)}? Set PIPEWRIGHT_S3_PORT.`,
        {
          cause: err,
        },
      );
    });
    return server;
  };
  const server = await start();
  log(`Embedded S3 server (gofakes3) on ${endpoint}, bucket ${bucket}, data in ${dataDir}.`);
  return {
    endpoint,
    env: {
      PIPEWRIGHT_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    },
    embedded: { instance: server, restart: start, logFile: server.logFile },
  };
}

/**
 * The artifact store a command reads, given the stack it talks to: PIPEWRIGHT_ARTIFACT_STORE and
 * friends, with the embedded S3 server's endpoint and credentials when that stack runs one.
 */
export function commandArtifactStore(config: PipewrightConfig, embeddedS3Endpoint: string | null | undefined): ArtifactStoreSettings {
  const settings = artifactStoreSettings(config);
  if (!settings.s3 || settings.s3.endpoint || !embeddedS3Endpoint) return settings;
  return { ...settings, s3: { ...settings.s3, endpoint: embeddedS3Endpoint, forcePathStyle: true, ...EMBEDDED_S3_CREDENTIALS } };
}
