import type { Pool } from 'pg';

/** Which deployment answered: the one whose answer the client got, a canary share, or a shadow whose answer is only logged. */
export type ServingRole = 'production' | 'canary' | 'shadow';

export const SERVING_ROLES: ReadonlySet<string> = new Set<ServingRole>(['production', 'canary', 'shadow']);

/** One prediction request as the model server answered it; each instance becomes one logged row. */
export interface PredictionLogRecord {
  /** The request's id (x-request-id or generated); feedback refers to it. */
  requestId: string;
  model: string;
  version: number;
  role: ServingRole;
  /** Raw instances as the client sent them, one object per row (keyed by raw column name). */
  instances: ReadonlyArray<Record<string, unknown>>;
  /** The predictions, one per row, as returned (number, or {class, probabilities}, ...). */
  predictions: ReadonlyArray<unknown>;
  latencyMs: number;
  /** When it was answered; default: when log() was called. */
  at?: Date;
}

export interface PredictionLogStats {
  /** Rows written to PostgreSQL. */
  logged: number;
  /** Rows given up: the queue was full, the log was closed, the record was malformed, or their flush failed. */
  dropped: number;
  /** Rows held: waiting, or in the flush now being written. */
  queued: number;
  /** Flushes that lost rows (the database was down, slow past flushTimeoutMs, or refused them). */
  failedFlushes: number;
  /** The last flush error, for a health endpoint or a log line. */
  lastError?: string;
}

export interface PredictionLogOptions {
  /** The most rows held (waiting plus being written); rows beyond it are dropped. Default 50_000. */
  maxQueuedRows?: number;
  /** A flush starts as soon as this many rows wait, and writes at most about this many (whole records). Default 500: a flush is serialised on the serving event loop, so a small one keeps the pause short. */
  flushRows?: number;
  /** A flush starts at most this long after a row was queued. Default 250. */
  flushIntervalMs?: number;
  /** A flush that has not finished after this long is given up and its rows counted as dropped. Default 30_000. */
  flushTimeoutMs?: number;
  /** Told about dropped rows, at most once per onDropIntervalMs per reason, with the rows dropped since it was last told. */
  onDrop?: (rows: number, reason: string) => void;
  /** Default 1_000. */
  onDropIntervalMs?: number;
}

/**
 * What the log needs of a pool: a pg.Pool is one. Narrower than Pool so that a test or a wrapper
 * (slow, counting, failing) only has to provide query.
 */
export type PredictionLogPool = Pick<Pool, 'query'>;

/** A logged prediction row read back, with its feedback label when one was recorded. */
export interface LoggedPrediction {
  requestId: string;
  row: number;
  version: number;
  role: ServingRole;
  at: Date;
  features: Record<string, unknown>;
  prediction: unknown;
  latencyMs: number;
  /** Present only when feedback was recorded for this row (it may then be null). */
  label?: unknown;
}

export interface LoggedPredictionQuery {
  model: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** Default 10_000. */
  limit?: number;
  role?: ServingRole;
}

export interface FeedbackInput {
  requestId: string;
  /** Labels by row index within the request (0-based, as the instances were sent). */
  labels: ReadonlyArray<{ row: number; label: unknown }>;
  /** When given, only predictions of this model count as matched and read this label back. */
  model?: string;
}
