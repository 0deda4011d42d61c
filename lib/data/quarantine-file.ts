import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type { ArtifactStore } from '../artifacts/artifact-store';
import type { ArtifactRef } from '../../contracts/refs';

/** A malformed row as it lands in the quarantine file: its key, why, and every field as read. */
export interface QuarantinedRow {
  key: number | string | null;
  reason: string;
  fields: Array<number | string | null>;
}

/**
 * Malformed rows of one partition, appended as NDJSON to a temp file as they turn up, so a
 * table with millions of bad rows costs disk, not memory; committed to the artifact store at
 * the end. Writes are synchronous: this runs in a task thread, where blocking is the point.
 */
export class QuarantineFile {
  count = 0;
  private pending: string[] = [];
  private fd: number | null = null;

  private constructor(
    private readonly store: ArtifactStore,
    private readonly tmp: string,
    private readonly flushEvery: number,
  ) {}

  static async open(store: ArtifactStore, flushEvery = 1024): Promise<QuarantineFile> {
    return new QuarantineFile(store, await store.createTemp('quarantine'), flushEvery);
  }

  add(row: QuarantinedRow): void {
    this.pending.push(JSON.stringify(row));
    this.count++;
    if (this.pending.length >= this.flushEvery) this.flush();
  }

  /** The quarantine artifact, or undefined when no row was bad (then no file is left behind). */
  async commit(): Promise<ArtifactRef | undefined> {
    this.flush();
    if (this.fd === null) return undefined;
    closeSync(this.fd);
    this.fd = null;
    return this.store.commitTemp('quarantine', '.ndjson', this.tmp);
  }

  /** Drops whatever was written (the partition failed and will be retried). */
  discard(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.fd ??= openSync(this.tmp, 'w');
    writeSync(this.fd, this.pending.join('\n') + '\n');
    this.pending = [];
  }
}
