import { existsSync } from 'node:fs';
import type { Pool } from 'pg';
import { artifactPath } from '../artifacts/artifact-store';
import type { CachedStep } from './step-keys';

export interface StepEntry {
  key: string;
  step: CachedStep;
  result: unknown;
}

/** Every artifact URI a step result names (refs nest: a train result holds its model ref). */
function urisIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) urisIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [field, v] of Object.entries(value)) {
      if (field === 'uri' && typeof v === 'string') out.push(v);
      else urisIn(v, out);
    }
  }
  return out;
}

/** Whether every artifact of a result is still in the store (a cleaned store makes a miss, not a broken run). */
function artifactsExist(result: unknown): boolean {
  return urisIn(result).every((uri) => uri.startsWith('file://') && existsSync(artifactPath(uri)));
}

/** The stored results of the keys that have one whose artifacts still exist, with the run that made each. */
export async function lookupSteps(pool: Pool, keys: readonly string[]): Promise<Map<string, { result: unknown; runId: string }>> {
  const { rows } = await pool.query<{ key: string; result: unknown; run_id: string }>(
    'SELECT key, result, run_id FROM pipewright_step_cache WHERE key = ANY($1)',
    [[...keys]],
  );
  return new Map(rows.filter((r) => artifactsExist(r.result)).map((r) => [r.key, { result: r.result, runId: r.run_id }]));
}

/** Records what a run computed; a key already there keeps its first result (any run with that key computes the same). */
export async function storeSteps(pool: Pool, runId: string, entries: readonly StepEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await pool.query(
    `INSERT INTO pipewright_step_cache (key, step, result, run_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[])
     ON CONFLICT (key) DO NOTHING`,
    [entries.map((e) => e.key), entries.map((e) => e.step), entries.map((e) => JSON.stringify(e.result)), entries.map(() => runId)],
  );
}
