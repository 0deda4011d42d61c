import { SERVING_ROLES, type PredictionLogRecord } from './prediction-log-types';

const INT32_MAX = 2 ** 31 - 1;

/**
 * How many rows a record logs, or why it cannot be logged. Only cheap scalar checks, on the
 * prediction's path: the fields that go into typed columns (int, text) must hold, or the whole batch
 * would be refused at flush time; instances and predictions are only checked to be arrays, their
 * contents are made safe when the batch is written. Never throws, whatever it is handed.
 */
export function checkRecord(record: PredictionLogRecord): { rows: number; problem?: string } {
  try {
    const rows = Array.isArray(record.instances) ? record.instances.length : 1;
    if (!Array.isArray(record.instances)) return { rows, problem: 'instances is not an array' };
    if (!Array.isArray(record.predictions)) return { rows, problem: 'predictions is not an array' };
    if (typeof record.requestId !== 'string' || record.requestId === '') return { rows, problem: 'requestId is not a non-empty string' };
    if (typeof record.model !== 'string' || record.model === '') return { rows, problem: 'model is not a non-empty string' };
    if (!Number.isInteger(record.version) || record.version < -INT32_MAX - 1 || record.version > INT32_MAX) {
      return { rows, problem: 'version is not a 32-bit integer' };
    }
    if (!SERVING_ROLES.has(record.role)) return { rows, problem: 'role is not production, canary or shadow' };
    return { rows };
  } catch {
    // A Proxy or a throwing getter: one row's worth is lost and counted.
    return { rows: 1, problem: 'record could not be read' };
  }
}

/**
 * The record's own time when it is a valid Date in years 1 to 9999 (toISOString writes other years in
 * a form timestamptz does not read), else now: an odd `at` is no reason to lose the rows. A copy, so
 * that the caller reusing its Date cannot move a queued row in time.
 */
export function recordTime(record: PredictionLogRecord): Date {
  try {
    const at = record.at;
    if (at instanceof Date && Number.isFinite(at.getTime()) && at.getUTCFullYear() >= 1 && at.getUTCFullYear() <= 9999) return new Date(at.getTime());
  } catch {
    // fall through to now
  }
  return new Date();
}
