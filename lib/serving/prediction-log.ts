import { DropReporter, unrefTimeout } from './prediction-log-drops';
import { INSERT_PREDICTIONS, insertValues, type QueuedRecord } from './prediction-log-insert';
import { checkRecord, recordTime } from './prediction-log-record';
import type { PredictionLogOptions, PredictionLogPool, PredictionLogRecord, PredictionLogStats } from './prediction-log-types';

export { readLoggedPredictions, recordFeedback } from './prediction-log-store';
export type {
  FeedbackInput,
  LoggedPrediction,
  LoggedPredictionQuery,
  PredictionLogOptions,
  PredictionLogPool,
  PredictionLogRecord,
  PredictionLogStats,
  ServingRole,
} from './prediction-log-types';

/**
 * Prediction logging for the model server: every instance it answers becomes one row of
 * pipewright_predictions, for drift monitoring, feedback joins and audits.
 *
 * Logging must never cost a prediction anything, whatever the database does. So log() only checks a
 * few scalars and queues a reference; rows are serialised and written later, in batches of one
 * statement each, at most one batch in flight. The queue is bounded: when PostgreSQL is slow or down,
 * rows beyond maxQueuedRows are dropped and counted rather than held (memory) or waited for (latency).
 * A batch that fails is dropped too, and the next one simply tries again, so the log recovers by
 * itself when the database comes back. Every timer is unref'd: the log never keeps a process alive.
 *
 * The caller must not mutate a record's instances or predictions after log(): they are read at flush time.
 */
export class PredictionLog {
  private readonly maxQueuedRows: number;
  private readonly flushRows: number;
  private readonly flushIntervalMs: number;
  private readonly flushTimeoutMs: number;
  private readonly drops: DropReporter;

  /** FIFO of records waiting for a batch; each carries a sequence number so that flush() knows when "what is queued now" is out. */
  private queue: Array<QueuedRecord & { seq: number; queuedAtMs: number }> = [];
  private waitingRows = 0;
  private inFlightRows = 0;
  private inFlight: Promise<void> | undefined;
  private enqueued = 0;
  /** Sequence number of the last record of the last batch that finished (written or dropped): batches finish in order. */
  private finishedThrough = 0;
  /** Whether the last batch lost rows to an error that was not about its data (the database is down or slow). */
  private lastBatchUnreachable = false;

  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  private closing: Promise<void> | undefined;

  private logged = 0;
  private dropped = 0;
  private failedFlushes = 0;
  private lastError: string | undefined;

  constructor(
    private readonly pool: PredictionLogPool,
    options: PredictionLogOptions = {},
  ) {
    this.maxQueuedRows = positiveInteger(options.maxQueuedRows, 50_000, 'maxQueuedRows');
    this.flushRows = positiveInteger(options.flushRows, 500, 'flushRows');
    this.flushIntervalMs = nonNegative(options.flushIntervalMs, 250, 'flushIntervalMs');
    this.flushTimeoutMs = positiveInteger(options.flushTimeoutMs, 30_000, 'flushTimeoutMs');
    this.drops = new DropReporter(options.onDrop, nonNegative(options.onDropIntervalMs, 1_000, 'onDropIntervalMs'));
  }

  /** Never throws, never awaits, never blocks the caller: queues the rows; when the queue is full, counts them as dropped. */
  log(record: PredictionLogRecord): void {
    try {
      const { rows, problem } = checkRecord(record);
      if (rows === 0) return;
      if (this.closing) return this.drop(rows, 'log closed');
      if (problem !== undefined) return this.drop(rows, 'invalid record');
      if (rows > this.maxQueuedRows) return this.drop(rows, 'record larger than maxQueuedRows');
      if (this.waitingRows + this.inFlightRows + rows > this.maxQueuedRows) return this.drop(rows, 'queue full');
      const queuedAtMs = Date.now();
      this.queue.push({ record, rows, at: recordTime(record), seq: ++this.enqueued, queuedAtMs });
      this.waitingRows += rows;
      this.schedule(this.waitingRows >= this.flushRows ? 0 : this.flushIntervalMs);
    } catch {
      // Unreachable by design (everything above is total); if it ever happens, count and move on.
      this.dropped += 1;
    }
  }

  stats(): PredictionLogStats {
    const stats: PredictionLogStats = {
      logged: this.logged,
      dropped: this.dropped,
      queued: this.waitingRows + this.inFlightRows,
      failedFlushes: this.failedFlushes,
    };
    if (this.lastError !== undefined) stats.lastError = this.lastError;
    return stats;
  }

  /** Writes what is queued now (tests, shutdown): resolves when every record logged before the call is written or dropped. */
  async flush(): Promise<void> {
    const target = this.enqueued;
    while (this.finishedThrough < target) {
      if (this.inFlight) {
        await this.inFlight;
      } else if (this.queue.length === 0) {
        return;
      } else if (this.closing && this.lastBatchUnreachable) {
        // Shutting down with the database out of reach: waiting flushTimeoutMs per batch would only delay exit.
        this.dropWaiting('database unreachable at close');
        return;
      } else {
        this.startBatch();
      }
    }
  }

  /** Flushes, stops the timer; later log() calls count as dropped. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.clearTimer();
      await this.flush();
      this.drops.tellAll();
    })();
    return this.closing;
  }

  /** Arms the flush timer to fire within `delayMs`, keeping an earlier one. */
  private schedule(delayMs: number): void {
    if (this.closing) return;
    const dueMs = Date.now() + delayMs;
    if (this.timer && this.timerDueMs <= dueMs) return;
    this.clearTimer();
    this.timerDueMs = dueMs;
    this.timer = unrefTimeout(() => {
      this.timer = undefined;
      this.timerDueMs = Infinity;
      if (!this.inFlight && this.queue.length > 0) this.startBatch();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
  }

  /** Takes whole records from the head of the queue, up to about flushRows rows, and writes them as one batch. */
  private startBatch(): void {
    let rows = 0;
    let count = 0;
    while (count < this.queue.length && (count === 0 || rows + this.queue[count]!.rows <= this.flushRows)) rows += this.queue[count++]!.rows;
    const batch = this.queue.splice(0, count);
    const lastSeq = batch[batch.length - 1]!.seq;
    this.waitingRows -= rows;
    this.inFlightRows = rows;
    this.inFlight = this.write(batch).finally(() => {
      this.inFlight = undefined;
      this.inFlightRows = 0;
      this.finishedThrough = lastSeq;
      this.scheduleNext();
    });
  }

  /** After a batch: at once if a full batch waits, else when the oldest waiting record has waited flushIntervalMs. */
  private scheduleNext(): void {
    const head = this.queue[0];
    if (!head) return;
    if (this.waitingRows >= this.flushRows) return this.schedule(0);
    this.schedule(Math.max(0, head.queuedAtMs + this.flushIntervalMs - Date.now()));
  }

  /** Never rejects: what could not be written is counted as dropped. */
  private async write(batch: ReadonlyArray<QueuedRecord>): Promise<void> {
    const result = await this.insert(batch);
    this.logged += result.written;
    this.lastBatchUnreachable = result.unreachable;
    if (result.lost > 0) {
      this.failedFlushes += 1;
      this.lastError = result.error;
      this.drop(result.lost, 'flush failed');
    }
  }

  /**
   * One statement for the batch. When PostgreSQL refuses the data itself (which the serialisation is
   * meant to make impossible), the batch is halved and retried, so only the offending record is lost;
   * any other failure (connection, timeout) loses the batch, since retrying it now would fail the same way.
   */
  private async insert(batch: ReadonlyArray<QueuedRecord>): Promise<BatchResult> {
    const rows = batch.reduce((n, r) => n + r.rows, 0);
    let values: unknown[][];
    try {
      values = insertValues(batch);
    } catch (err) {
      return this.split(batch, rows, err);
    }
    try {
      await withTimeout(this.pool.query(INSERT_PREDICTIONS, values), this.flushTimeoutMs);
      return { written: rows, lost: 0, unreachable: false };
    } catch (err) {
      if (isDataError(err)) return this.split(batch, rows, err);
      return { written: 0, lost: rows, unreachable: true, error: errorText(err) };
    }
  }

  private async split(batch: ReadonlyArray<QueuedRecord>, rows: number, err: unknown): Promise<BatchResult> {
    if (batch.length === 1) return { written: 0, lost: rows, unreachable: false, error: errorText(err) };
    const half = Math.ceil(batch.length / 2);
    const first = await this.insert(batch.slice(0, half));
    const second = await this.insert(batch.slice(half));
    return {
      written: first.written + second.written,
      lost: first.lost + second.lost,
      unreachable: first.unreachable || second.unreachable,
      error: second.error ?? first.error,
    };
  }

  private dropWaiting(reason: string): void {
    const rows = this.waitingRows;
    this.queue = [];
    this.waitingRows = 0;
    this.finishedThrough = this.enqueued;
    this.drop(rows, reason);
  }

  private drop(rows: number, reason: string): void {
    this.dropped += rows;
    this.drops.dropped(rows, reason);
  }
}

interface BatchResult {
  written: number;
  lost: number;
  /** The loss was the database's state (down, slow), not the data. */
  unreachable: boolean;
  error?: string;
}

/**
 * PostgreSQL refused the values rather than the statement or the connection: data exceptions (22...),
 * integrity violations (23...) and program limits such as a value too large (54...).
 */
function isDataError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/** The query's outcome, or a rejection after `ms`; a late outcome of the query is then ignored (and its rejection handled). */
function withTimeout(query: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = unrefTimeout(() => reject(new Error(`prediction log flush timed out after ${ms} ms`)), ms);
    query.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${message} (${code})` : message;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`PredictionLog: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`PredictionLog: ${name} must be a finite number ≥ 0, got ${value}`);
  return value;
}
