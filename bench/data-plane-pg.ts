import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, type Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ShardRef } from '../contracts/refs';
import { partitionSelect } from '../lib/data/partition-sql';
import type { Partition } from '../lib/data/partitions';
import type { SourceSchema } from '../lib/data/source-schema';
import { runInThread } from '../lib/threads/run-in-thread';
import { inParallel } from './data-plane-util';
import { fileStoreSettings } from '../lib/artifacts/artifact-store';

/** Rows per Arrow batch, as the ingest activity uses (activities/ingest.ts). */
const INGEST_BATCH_ROWS = 65_536;

/**
 * The floor for ingest: every range read with `COPY (SELECT …) TO STDOUT` on its own connection,
 * all at once, and thrown away (only the bytes are counted). This is what the server and the wire
 * cost for the same SELECT ingest runs; `format` picks psql's text form or ingest's binary one.
 */
export async function rawCopy(databaseUrl: string, schema: SourceSchema, ranges: Partition[], format: 'text' | 'binary'): Promise<number> {
  const bytes = await inParallel(ranges, ranges.length, async (range) => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const sql = `COPY (${partitionSelect(schema, range)}) TO STDOUT${format === 'binary' ? ' (FORMAT binary)' : ''}`;
      let n = 0;
      for await (const chunk of client.query(copyTo(sql))) n += (chunk as Buffer).length;
      return n;
    } finally {
      await client.end();
    }
  });
  return bytes.reduce((a, b) => a + b, 0);
}

/**
 * Starts `concurrency` ingest threads and loads their modules (an empty key range each), so the
 * measured ingest reuses them as a cpu-pool worker that has ingested before does.
 */
export async function warmIngestThreads(databaseUrl: string, artifactRoot: string, schema: SourceSchema, concurrency: number): Promise<void> {
  const empty: Partition = { kind: 'keyRange', partition: 0, lo: 0, hi: 0 };
  await Promise.all(
    Array.from({ length: concurrency }, () =>
      runInThread('ingestPartition', {
        databaseUrl,
        artifactStore: fileStoreSettings(artifactRoot),
        schema,
        partition: empty,
        batchRows: INGEST_BATCH_ROWS,
      }).catch(() => undefined),
    ),
  );
}

/** pipewright ingest: the real ingestPartition task in worker threads, `concurrency` partitions at a time. */
export async function ingest(databaseUrl: string, artifactRoot: string, schema: SourceSchema, ranges: Partition[], concurrency: number): Promise<ShardRef[]> {
  return inParallel(ranges, concurrency, (partition) =>
    runInThread('ingestPartition', { databaseUrl, artifactStore: fileStoreSettings(artifactRoot), schema, partition, batchRows: INGEST_BATCH_ROWS }),
  );
}

/** USER_HZ: the unit of CPU times in /proc/<pid>/stat, 100 on every Linux build that matters here. */
const CLOCK_TICKS = 100;

/** utime, stime, cutime, cstime and the parent pid of a process, from /proc/<pid>/stat. */
function procTimes(pid: string): { ppid: number; self: number; children: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields are counted after its ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/**
 * A reader of the CPU seconds the PostgreSQL server has used so far (postmaster, live backends and
 * background processes, and the backends that have exited), or null when the server is not a local
 * process this user can see (a remote DATABASE_URL). On a 2-core box the server's share is what
 * tells whether ingest waits for PostgreSQL or PostgreSQL waits for ingest.
 */
export async function serverCpuReader(pool: Pool): Promise<(() => number) | null> {
  try {
    const { rows } = await pool.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
    const postmaster = readFileSync(path.join(rows[0]!.dir, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
    if (procTimes(postmaster) === null) return null;
    return () => {
      const own = procTimes(postmaster);
      let ticks = own === null ? 0 : own.self + own.children;
      for (const pid of readdirSync('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const p = procTimes(pid);
        if (p !== null && String(p.ppid) === postmaster) ticks += p.self;
      }
      return ticks / CLOCK_TICKS;
    };
  } catch {
    return null;
  }
}
