import { createReadStream, mkdirSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openArtifactStore, fileStoreSettings, localArtifactPath, type ArtifactStore, type ArtifactStoreSettings } from '../lib/artifacts/artifact-store';
import { PART_BYTES } from '../lib/artifacts/s3-backend';
import { loadConfig } from '../lib/config';
import { startProcess } from '../scripts/stack/child-process';
import { ensureGofakes3, gofakes3Args, waitForS3 } from '../scripts/stack/object-store';
import { recordResult } from './record';
import { freePort } from '../scripts/stack/free-port';

/**
 * The s3:// artifact store against file://, in the same run on the same machine: write (putFile
 * filling the temp file, then hash + fsync + rename, and for s3 the multipart upload) and read
 * (file: the file itself; s3: a cold read, i.e. download into an empty cache with the sha256 check,
 * then reading the copy) of one `BENCH_ARTIFACT_MIB` (256) MiB artifact, `BENCH_REPEATS` (3) times,
 * medians reported. The object store is gofakes3 on loopback, with its data on the same disk: the
 * ratio says what the upload and download path cost over the local one, not what a real S3 would do.
 */

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_ARTIFACT_MIB ?? 256);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BUCKET = 'bench';

/** Fills `file` with SIZE_MIB MiB, a MiB at a time, distinct per `seed` (so no write finds its object already there). */
async function fill(file: string, seed: number): Promise<void> {
  const chunk = Buffer.alloc(MIB);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  const handle = await fs.open(file, 'w');
  try {
    for (let m = 0; m < SIZE_MIB; m++) {
      chunk.writeUInt32LE(m, 0);
      chunk.writeUInt32LE(seed, 4);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
}

async function readAll(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: MIB })) n += (chunk as Buffer).length;
  return n;
}

const seconds = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Run {
  writeS: number;
  readS: number;
  /** Peak RSS growth over the process's RSS before the write, MiB. */
  writePeakRssMiB: number;
}

/** One write and one read of a fresh artifact; `beforeRead` empties the s3 cache so the read downloads. */
async function once(store: ArtifactStore, seed: number, beforeRead: () => Promise<void>): Promise<Run> {
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = process.hrtime.bigint();
  const ref = await store.putFile('bench', '.bin', (tmp) => fill(tmp, seed));
  const writeS = seconds(t0);
  clearInterval(sampler);
  await beforeRead();
  const t1 = process.hrtime.bigint();
  const bytes = await readAll(await localArtifactPath(ref.uri));
  const readS = seconds(t1);
  if (bytes !== SIZE_MIB * MIB) throw new Error(`read ${bytes} bytes of ${SIZE_MIB * MIB}`);
  await fs.rm(await localArtifactPath(ref.uri), { force: true });
  return { writeS, readS, writePeakRssMiB: (peak - rssBefore) / MIB };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const binary = await ensureGofakes3(config, (line) => console.error(line));
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pipewright-bench-artifacts-'));
  const port = await freePort();
  const s3Data = path.join(scratch, 's3');
  mkdirSync(s3Data);
  const server = startProcess('gofakes3', binary, gofakes3Args(s3Data, port, BUCKET), process.env, path.join(scratch, 'logs'));
  try {
    const endpoint = `http://127.0.0.1:${port}`;
    await waitForS3(endpoint, server);
    const cacheDir = path.join(scratch, 'cache');
    const s3Settings: ArtifactStoreSettings = {
      url: `s3://${BUCKET}/run`,
      cacheDir,
      s3: { endpoint, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'bench', secretAccessKey: 'bench' },
    };
    const file = openArtifactStore(fileStoreSettings(path.join(scratch, 'file-store')));
    const s3 = openArtifactStore(s3Settings);
    const runs: Record<'file' | 's3', Run[]> = { file: [], s3: [] };
    for (let r = 0; r < REPEATS; r++) {
      // Alternate which backend goes first, so neither always finds the page cache warmer.
      const order: Array<'file' | 's3'> = r % 2 === 0 ? ['file', 's3'] : ['s3', 'file'];
      for (const backend of order) {
        const run =
          backend === 'file'
            ? await once(file, 2 * r, async () => undefined)
            : await once(s3, 2 * r + 1, async () => rmSync(path.join(cacheDir, BUCKET), { recursive: true, force: true }));
        runs[backend].push(run);
        console.error(
          `  ${backend} run ${r + 1}: write ${run.writeS.toFixed(2)} s, read ${run.readS.toFixed(2)} s, write peak RSS +${run.writePeakRssMiB.toFixed(0)} MiB`,
        );
      }
      // gofakes3 keeps every object on disk: drop this round's so the disk does not fill.
      rmSync(path.join(s3Data, 'buckets', BUCKET, 'run'), { recursive: true, force: true });
    }
    const mbps = (s: number): number => (SIZE_MIB * MIB) / 1e6 / s;
    const summary = (backend: 'file' | 's3') => ({
      writeMBps: mbps(median(runs[backend].map((x) => x.writeS))),
      readMBps: mbps(median(runs[backend].map((x) => x.readS))),
      writePeakRssMiB: Math.max(...runs[backend].map((x) => x.writePeakRssMiB)),
    });
    const f = summary('file');
    const s = summary('s3');
    const writeRatio = s.writeMBps / f.writeMBps;
    const readRatio = s.readMBps / f.readMBps;
    const rows = [
      ['backend', 'write MB/s', 'read MB/s', 'write peak RSS growth'],
      ['file://', f.writeMBps.toFixed(0), f.readMBps.toFixed(0), `${f.writePeakRssMiB.toFixed(0)} MiB`],
      ['s3:// (gofakes3, loopback)', s.writeMBps.toFixed(0), `${s.readMBps.toFixed(0)} (cold cache)`, `${s.writePeakRssMiB.toFixed(0)} MiB`],
      ['s3 / file', `${writeRatio.toFixed(2)}×`, `${readRatio.toFixed(2)}×`, ''],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    console.log(`\n${SIZE_MIB} MiB artifact, median of ${REPEATS}; multipart parts of ${PART_BYTES / MIB} MiB`);
    for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    await recordResult('artifact-store', {
      headline: `${SIZE_MIB} MiB: s3 (gofakes3, loopback) write ${s.writeMBps.toFixed(0)} MB/s = ${writeRatio.toFixed(2)}× file's ${f.writeMBps.toFixed(0)}; cold read ${s.readMBps.toFixed(0)} MB/s = ${readRatio.toFixed(2)}× file's ${f.readMBps.toFixed(0)}; s3 write peak RSS +${s.writePeakRssMiB.toFixed(0)} MiB`,
      sizeMiB: SIZE_MIB,
      repeats: REPEATS,
      partMiB: PART_BYTES / MIB,
      file: f,
      s3: s,
      ratios: { write: writeRatio, read: readRatio },
      runs,
    });
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
