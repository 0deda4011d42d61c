import { createReadStream, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Why a row was not loaded. */
export type RejectReason = 'wrong_field_count' | 'invalid_value' | 'null_value' | 'malformed_csv';

export interface Reject {
  /** CSV: the line the record starts on (the header is line 1). Parquet: the row number, from 1. */
  line: number;
  reason: RejectReason;
  /** The column whose value did not fit, for invalid_value and null_value. */
  column?: string;
  message: string;
  /** The record's fields as read: an array for CSV, column → value for Parquet. */
  fields?: readonly string[] | Readonly<Record<string, string | null>>;
  /** The line as it is in the file, when it could not be split into fields. */
  raw?: string;
}

export interface RejectCount {
  reason: RejectReason;
  column?: string;
  count: number;
}

export interface RejectSummary {
  total: number;
  /** Most frequent first. */
  counts: RejectCount[];
  /** The first few rejects, in file order. */
  examples: Reject[];
}

const EXAMPLES = 5;
const FLUSH_BYTES = 1 << 20;

/**
 * The rows a load quarantines: counted per reason (and column), the first few kept to show, and
 * every one spilled to a temp file as COPY text, so that a file with millions of bad rows costs
 * disk rather than memory. copyInto() moves them into pipewright_load_rejects inside the load's
 * transaction.
 */
export class RejectLog {
  private readonly counts = new Map<string, RejectCount>();
  private readonly examples: Reject[] = [];
  private pending: string[] = [];
  private pendingBytes = 0;
  private dir: string | undefined;
  total = 0;

  constructor(private readonly table: string) {}

  add(reject: Reject): void {
    this.total++;
    const key = `${reject.reason}\0${reject.column ?? ''}`;
    const count = this.counts.get(key);
    if (count) count.count++;
    else this.counts.set(key, { reason: reject.reason, ...(reject.column !== undefined ? { column: reject.column } : {}), count: 1 });
    if (this.examples.length < EXAMPLES) this.examples.push(reject);
    const line = copyTextLine([
      this.table,
      String(reject.line),
      reject.reason,
      reject.column ?? null,
      reject.message,
      reject.fields === undefined ? null : JSON.stringify(reject.fields, (_key, v: unknown) => (typeof v === 'string' ? withoutNul(v) : v)),
      reject.raw ?? null,
    ]);
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  summary(): RejectSummary {
    return { total: this.total, counts: [...this.counts.values()].sort((a, b) => b.count - a.count), examples: [...this.examples] };
  }

  /** COPYs every reject into pipewright_load_rejects on `client` (inside the caller's transaction). */
  async copyInto(client: PoolClient): Promise<void> {
    if (this.total === 0) return;
    this.flush();
    const copy = client.query(copyFrom('COPY pipewright_load_rejects (table_name, line, reason, column_name, message, fields, raw) FROM STDIN'));
    await pipeline(createReadStream(this.file()), copy);
  }

  dispose(): void {
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    if (this.dir === undefined) {
      this.dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-rejects-'));
      writeFileSync(this.file(), text);
    } else {
      appendFileSync(this.file(), text);
    }
    this.pending = [];
    this.pendingBytes = 0;
  }

  private file(): string {
    return path.join(this.dir!, 'rejects.copy');
  }
}

/** PostgreSQL text cannot hold NUL; a quarantined value shows U+FFFD in its place. */
function withoutNul(text: string): string {
  return text.includes('\0') ? text.replace(/\0/g, '\uFFFD') : text;
}

/** One line of COPY's text format. */
export function copyTextLine(values: ReadonlyArray<string | null>): string {
  return `${values.map((v) => (v === null ? '\\N' : escapeCopyText(withoutNul(v)))).join('\t')}\n`;
}

function escapeCopyText(text: string): string {
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text;
}
