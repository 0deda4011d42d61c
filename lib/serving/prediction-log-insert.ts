import { pgSafeText, toJsonText } from './prediction-log-json';
import type { PredictionLogRecord } from './prediction-log-types';

/** A record waiting in the log's queue: already checked, with its row count and the time it was logged. */
export interface QueuedRecord {
  record: PredictionLogRecord;
  rows: number;
  at: Date;
}

/**
 * One statement for the whole batch: each column travels as one array parameter and unnest turns them
 * back into rows, so a flush of thousands of rows is a single round trip and a single parse, and the
 * statement text stays the same whatever the batch size.
 */
export const INSERT_PREDICTIONS = `
  INSERT INTO pipewright_predictions (request_id, row_index, model, version, role, logged_at, features, prediction, latency_ms)
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::jsonb[], $8::jsonb[], $9::real[])`;

/**
 * The nine column arrays of INSERT_PREDICTIONS for a batch. The values are serialised here, at flush
 * time, off the prediction's path; everything that could make PostgreSQL refuse a value (NUL, lone
 * surrogates, NaN, BigInt, cycles) is made safe first, so one odd record cannot fail its batch.
 */
export function insertValues(batch: ReadonlyArray<QueuedRecord>): unknown[][] {
  const requestIds: string[] = [];
  const rowIndexes: number[] = [];
  const models: string[] = [];
  const versions: number[] = [];
  const roles: string[] = [];
  const loggedAt: string[] = [];
  const features: string[] = [];
  const predictions: string[] = [];
  const latencies: number[] = [];
  for (const { record, rows, at } of batch) {
    const requestId = pgSafeText(record.requestId);
    const model = pgSafeText(record.model);
    const role = pgSafeText(record.role);
    const time = at.toISOString();
    const latency = toReal(record.latencyMs);
    for (let row = 0; row < rows; row++) {
      requestIds.push(requestId);
      rowIndexes.push(row);
      models.push(model);
      versions.push(record.version);
      roles.push(role);
      loggedAt.push(time);
      features.push(toJsonText(record.instances[row]));
      predictions.push(toJsonText(record.predictions[row]));
      latencies.push(latency);
    }
  }
  return [requestIds, rowIndexes, models, versions, roles, loggedAt, features, predictions, latencies];
}

/**
 * A number real (float4) accepts. real takes NaN and ±Infinity, but refuses a finite double it would
 * round to infinity or to zero ("out of range"), which would fail the whole batch: round it to float4
 * here instead. Anything not a number is an unknown latency, hence NaN.
 */
export function toReal(value: unknown): number {
  return typeof value === 'number' ? Math.fround(value) : NaN;
}
