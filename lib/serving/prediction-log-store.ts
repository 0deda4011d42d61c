import { BadRequestError } from './bad-request';
import { pgSafeText, toJsonText } from './prediction-log-json';
import {
  SERVING_ROLES,
  type FeedbackInput,
  type LoggedPrediction,
  type LoggedPredictionQuery,
  type PredictionLogPool,
  type ServingRole,
} from './prediction-log-types';

/**
 * Feedback (the true label of a logged row, known later) and reading logged rows back with it. Both
 * are plain request/response calls, unlike the log's fire-and-forget writes: a client that sends
 * feedback wants to know it was stored.
 */

const INT32_MAX = 2 ** 31 - 1;
const DEFAULT_READ_LIMIT = 10_000;

/**
 * Upserts labels by (requestId, row): sending the same feedback twice leaves one row, and a later
 * label replaces an earlier one. `matched` counts the labelled rows that have a logged prediction
 * (of `model`, when given); feedback may arrive before its predictions are flushed, so an unmatched
 * label is kept and joins once they are. Malformed input is a BadRequestError (HTTP 400).
 */
export async function recordFeedback(pool: PredictionLogPool, input: FeedbackInput): Promise<{ recorded: number; matched: number }> {
  if (typeof input?.requestId !== 'string' || input.requestId === '') throw new BadRequestError('feedback: requestId must be a non-empty string');
  if (!Array.isArray(input.labels)) throw new BadRequestError('feedback: labels must be an array of {row, label}');
  if (input.model !== undefined && (typeof input.model !== 'string' || input.model === ''))
    throw new BadRequestError('feedback: model must be a non-empty string');
  // One statement cannot upsert the same key twice: within one call, the last label for a row wins.
  const byRow = new Map<number, unknown>();
  input.labels.forEach((entry, i) => {
    const row: unknown = entry?.row;
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row > INT32_MAX) {
      throw new BadRequestError(`feedback: labels[${i}].row must be a row index (an integer ≥ 0)`);
    }
    byRow.set(row, entry.label);
  });
  if (byRow.size === 0) return { recorded: 0, matched: 0 };
  const rows = [...byRow.keys()];
  const labels = [...byRow.values()].map((label) => toJsonText(label));
  const { rows: counts } = await pool.query<{ recorded: number; matched: number }>(
    `WITH upserted AS (
       INSERT INTO pipewright_feedback (request_id, row_index, label, model, recorded_at)
       SELECT $1::text, t.row_index, t.label, $4::text, now() FROM unnest($2::int[], $3::jsonb[]) AS t(row_index, label)
       ON CONFLICT (request_id, row_index) DO UPDATE SET label = EXCLUDED.label, model = EXCLUDED.model, recorded_at = EXCLUDED.recorded_at
       RETURNING row_index
     )
     SELECT count(*)::int AS recorded,
            count(*) FILTER (WHERE EXISTS (
              SELECT 1 FROM pipewright_predictions p
               WHERE p.request_id = $1 AND p.row_index = upserted.row_index AND ($4::text IS NULL OR p.model = $4)
            ))::int AS matched
       FROM upserted`,
    [pgSafeText(input.requestId), rows, labels, input.model === undefined ? null : pgSafeText(input.model)],
  );
  return { recorded: counts[0]?.recorded ?? 0, matched: counts[0]?.matched ?? 0 };
}

interface PredictionRow {
  request_id: string;
  row_index: number;
  version: number;
  role: ServingRole;
  logged_at: Date;
  features: Record<string, unknown>;
  prediction: unknown;
  latency_ms: number;
  has_label: boolean;
  label: unknown;
}

/**
 * A model's logged rows, oldest first (by time logged, then by insertion), with the label of each row
 * that has feedback (feedback given for another model is not joined). `since` is inclusive, `until`
 * exclusive, so consecutive windows neither overlap nor miss a row.
 */
export async function readLoggedPredictions(pool: PredictionLogPool, query: LoggedPredictionQuery): Promise<LoggedPrediction[]> {
  if (typeof query?.model !== 'string' || query.model === '') throw new BadRequestError('predictions: model must be a non-empty string');
  if (query.role !== undefined && !SERVING_ROLES.has(query.role)) throw new BadRequestError('predictions: role must be production, canary or shadow');
  const limit = query.limit ?? DEFAULT_READ_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) throw new BadRequestError('predictions: limit must be an integer ≥ 0');
  for (const [name, at] of [
    ['since', query.since],
    ['until', query.until],
  ] as const) {
    if (at !== undefined && !(at instanceof Date && Number.isFinite(at.getTime()))) throw new BadRequestError(`predictions: ${name} must be a valid Date`);
  }
  const { rows } = await pool.query<PredictionRow>(
    `SELECT p.request_id, p.row_index, p.version, p.role, p.logged_at, p.features, p.prediction, p.latency_ms,
            f.request_id IS NOT NULL AS has_label, f.label
       FROM pipewright_predictions p
       LEFT JOIN pipewright_feedback f
         ON f.request_id = p.request_id AND f.row_index = p.row_index AND (f.model IS NULL OR f.model = p.model)
      WHERE p.model = $1
        AND ($2::timestamptz IS NULL OR p.logged_at >= $2)
        AND ($3::timestamptz IS NULL OR p.logged_at < $3)
        AND ($4::text IS NULL OR p.role = $4)
      ORDER BY p.logged_at, p.id
      LIMIT $5`,
    [pgSafeText(query.model), query.since?.toISOString() ?? null, query.until?.toISOString() ?? null, query.role ?? null, limit],
  );
  return rows.map((r) => {
    const out: LoggedPrediction = {
      requestId: r.request_id,
      row: r.row_index,
      version: r.version,
      role: r.role,
      at: r.logged_at,
      features: r.features,
      prediction: r.prediction,
      latencyMs: r.latency_ms,
    };
    if (r.has_label) out.label = r.label;
    return out;
  });
}
