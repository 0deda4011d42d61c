import type { Pool } from 'pg';

/** One alert: a monitor check that found drift or a degraded live metric, and the retraining run it started. */
export interface AlertRecord {
  id: number;
  model: string;
  version: number;
  kind: 'drift' | 'performance';
  reason: string;
  details: unknown;
  monitorWorkflowId: string;
  retrainWorkflowId: string | null;
  at: Date;
}

interface AlertRow {
  id: string;
  model: string;
  version: number;
  kind: 'drift' | 'performance';
  reason: string;
  details: unknown;
  monitor_workflow_id: string;
  retrain_workflow_id: string | null;
  at: Date;
}

const fromRow = (r: AlertRow): AlertRecord => ({
  id: Number(r.id),
  model: r.model,
  version: r.version,
  kind: r.kind,
  reason: r.reason,
  details: r.details,
  monitorWorkflowId: r.monitor_workflow_id,
  retrainWorkflowId: r.retrain_workflow_id,
  at: r.at,
});

export type NewAlert = Omit<AlertRecord, 'id' | 'at'>;

/** Records the alert of a monitor run; recording the same run's alert again updates it (an activity retried) and keeps its id. */
export async function recordAlert(pool: Pick<Pool, 'query'>, alert: NewAlert): Promise<AlertRecord> {
  const { rows } = await pool.query<AlertRow>(
    `INSERT INTO pipewright_alerts (model, version, kind, reason, details, monitor_workflow_id, retrain_workflow_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (monitor_workflow_id) DO UPDATE SET model = EXCLUDED.model, version = EXCLUDED.version, kind = EXCLUDED.kind,
       reason = EXCLUDED.reason, details = EXCLUDED.details, retrain_workflow_id = EXCLUDED.retrain_workflow_id
     RETURNING *`,
    [alert.model, alert.version, alert.kind, alert.reason, JSON.stringify(alert.details ?? null), alert.monitorWorkflowId, alert.retrainWorkflowId],
  );
  return fromRow(rows[0]!);
}

/** The latest alerts, newest first, of one model or of all. */
export async function listAlerts(pool: Pick<Pool, 'query'>, options: { model?: string; limit?: number } = {}): Promise<AlertRecord[]> {
  const { rows } = await pool.query<AlertRow>(`SELECT * FROM pipewright_alerts WHERE ($1::text IS NULL OR model = $1) ORDER BY at DESC, id DESC LIMIT $2`, [
    options.model ?? null,
    options.limit ?? 50,
  ]);
  return rows.map(fromRow);
}
