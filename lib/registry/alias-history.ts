import { checkAliasName } from './alias-name';
import { requireModel } from './model-lookup';
import type { Queryable } from './model-rows';

/** One move of an alias, as pipewright_alias_history keeps it (append-only). */
export interface AliasHistoryEntry {
  id: number;
  name: string;
  alias: string;
  /** The version the alias pointed at from `changedAt` on; null: the alias was removed. */
  version: number | null;
  previousVersion: number | null;
  changedAt: Date;
  actor: string;
  reason: string;
}

interface HistoryDbRow {
  id: string; // bigserial: pg returns int8 as a string
  name: string;
  alias: string;
  version: number | null;
  previous_version: number | null;
  changed_at: Date;
  actor: string;
  reason: string;
}

const fromDb = (r: HistoryDbRow): AliasHistoryEntry => ({
  id: Number(r.id),
  name: r.name,
  alias: r.alias,
  version: r.version,
  previousVersion: r.previous_version,
  changedAt: r.changed_at,
  actor: r.actor,
  reason: r.reason,
});

/** Every move of the model's aliases (or of one alias), newest first. An unknown model is an error naming the models there are. */
export async function aliasHistory(db: Queryable, name: string, alias?: string): Promise<AliasHistoryEntry[]> {
  if (alias !== undefined) checkAliasName(alias);
  const { rows } = await db.query<HistoryDbRow>(
    `SELECT * FROM pipewright_alias_history WHERE name = $1 AND ($2::text IS NULL OR alias = $2) ORDER BY changed_at DESC, id DESC`,
    [name, alias ?? null],
  );
  if (rows.length === 0) await requireModel(db, name);
  return rows.map(fromDb);
}

/**
 * The history entry in force for `alias` at the instant `at`: the latest change at or before it.
 * Undefined when the alias had never been set by then. Its version is null when the alias had been
 * removed.
 */
export async function aliasEntryAt(db: Queryable, name: string, alias: string, at: Date): Promise<AliasHistoryEntry | undefined> {
  checkAliasName(alias);
  const { rows } = await db.query<HistoryDbRow>(
    `SELECT * FROM pipewright_alias_history WHERE name = $1 AND alias = $2 AND changed_at <= $3 ORDER BY changed_at DESC, id DESC LIMIT 1`,
    [name, alias, at],
  );
  if (rows[0]) return fromDb(rows[0]);
  await requireModel(db, name);
  return undefined;
}

/** The version that held `alias` at the instant `at` (which version served on date D), or undefined if none did. */
export async function aliasAt(db: Queryable, name: string, alias: string, at: Date): Promise<number | undefined> {
  return (await aliasEntryAt(db, name, alias, at))?.version ?? undefined;
}
