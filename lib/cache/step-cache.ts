import type { Pool } from 'pg';
import { artifactExists } from '../artifacts/artifact-store';
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

/**
 * Whether every artifact of a result is still in the store (a cleaned store makes a miss, not a
 * broken run): the file for file://, the object (HEAD) for s3://.
 */
async function artifactsExist(result: unknown): Promise<boolean> {
  const found = await Promise.all(urisIn(result).map((uri) => artifactExists(uri)));
  return found.every(Boolean);
}

/** The stored results of the keys that have one whose artifacts still exist, with the run that made each. */
export async function lookupSteps(pool: Pool, keys: readonly string[]): Promise<Map<string, { result: unknown; runId: string }>> {
  const { rows } = await pool.query<{ key: string; result: unknown; run_id: string }>(
    'SELECT key, result, run_id FROM pipewright_step_cache WHERE key = ANY($1)',
    [[...keys]],
  );
  const present = await Promise.all(rows.map((r) => artifactsExist(r.result)));
  return new Map(rows.filter((_, i) => present[i]).map((r) => [r.key, { result: r.result, runId: r.run_id }]));
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
