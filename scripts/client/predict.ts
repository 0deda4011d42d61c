import type { Pool } from 'pg';
import { ident } from '../../lib/db/sql';
import type { Prediction } from '../../lib/features/label-task';

export interface FlightInstance {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

/** A real flight from the source table, in the raw form the model server takes, with its actual delay. */
export async function sampleFlight(pool: Pool, table: string): Promise<{ instance: FlightInstance; delay: number | null }> {
  const { rows } = await pool.query<{ date: string; distance: number; origin: string; destination: string; delay: number | null }>(
    `SELECT to_char(date, 'YYYY-MM-DD"T"HH24:MI:SS') AS date, distance, origin, destination, delay
       FROM ${ident(table)} ORDER BY id DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row) throw new Error(`table ${table} is empty`);
  return { instance: { date: row.date, distance: row.distance, origin: row.origin, destination: row.destination }, delay: row.delay };
}

/**
 * Predictions from the model server: per instance a probability (binary, the default type), a
 * ClassPrediction (multiclass) or a value (regression); name the type for the model's task.
 */
export async function predictOverHttp<P extends Prediction = number>(
  serveUrl: string,
  model: string,
  instances: unknown[],
): Promise<{ predictions: P[]; model_version: number }> {
  const res = await fetch(`${serveUrl}/v1/models/${model}:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  const body = (await res.json()) as { predictions: P[]; model_version: number; error?: string };
  if (!res.ok) throw new Error(`prediction failed: HTTP ${res.status} ${body.error ?? ''}`);
  return body;
}

/** The KServe V2 request for rows of raw fields: one 1-D tensor per field, strings as BYTES, numbers as FP64. */
export function v2Request(instances: ReadonlyArray<Record<string, unknown>>): {
  inputs: Array<{ name: string; shape: number[]; datatype: string; data: unknown[] }>;
} {
  const names = Object.keys(instances[0] ?? {});
  return {
    inputs: names.map((name) => {
      const data = instances.map((i) => i[name]);
      return { name, shape: [data.length], datatype: typeof data[0] === 'number' ? 'FP64' : 'BYTES', data };
    }),
  };
}

/** Predictions over KServe V2: the model's output tensors. */
export async function inferOverV2(
  serveUrl: string,
  model: string,
  instances: ReadonlyArray<Record<string, unknown>>,
): Promise<{ model_version: string; outputs: Array<{ name: string; shape: number[]; data: unknown[] }> }> {
  const res = await fetch(`${serveUrl}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(v2Request(instances)),
  });
  const body = (await res.json()) as { model_version: string; outputs: Array<{ name: string; shape: number[]; data: unknown[] }>; error?: string };
  if (!res.ok) throw new Error(`V2 inference failed: HTTP ${res.status} ${body.error ?? ''}`);
  return body;
}

export function curlFor(serveUrl: string, model: string, instance: unknown): string {
  return `curl -s -X POST ${serveUrl}/v1/models/${model}:predict -H 'content-type: application/json' -d '${JSON.stringify({ instances: [instance] })}'`;
}

export function curlForV2(serveUrl: string, model: string, instance: Record<string, unknown>): string {
  return `curl -s -X POST ${serveUrl}/v2/models/${model}/infer -H 'content-type: application/json' -d '${JSON.stringify(v2Request([instance]))}'`;
}
