import type { Pool } from 'pg';
import { PipelineInputError } from '../errors';
import { checkAliasName, PRODUCTION_ALIAS } from './alias-name';
import { withModelLock } from './model-lock';
import { aliasVersion, requireModel, requireVersion } from './model-lookup';
import type { ModelVersionRow, Queryable } from './model-rows';

/** Who moved an alias and why: kept forever in pipewright_alias_history. */
export interface AliasAudit {
  /** `run:<run id>`, `user:<name>`, ... */
  actor: string;
  reason: string;
}

export interface SetAliasInput extends AliasAudit {
  name: string;
  alias: string;
  version: number;
}

export interface RemoveAliasInput extends AliasAudit {
  name: string;
  alias: string;
}

/** What an alias move did. `changed` is false when the alias already pointed there (nothing was appended). */
export interface AliasChange {
  name: string;
  alias: string;
  /** The version the alias points at now; null once removed. */
  version: number | null;
  /** The version it pointed at before; null if it was not set. */
  previousVersion: number | null;
  changed: boolean;
}

export interface AliasSet extends AliasChange {
  version: number;
  /** The version the alias now points at, with its aliases as they are after the move. */
  row: ModelVersionRow;
}

function checkAudit(audit: AliasAudit): void {
  if (!audit.actor.trim()) throw new PipelineInputError('an alias change needs an actor (run:<id>, user:<name>, ...)');
  if (!audit.reason.trim()) throw new PipelineInputError('an alias change needs a reason');
}

/**
 * The old `stage` column follows the production alias, so that readers written before aliases see
 * the same production version: the new one 'production' (deployed_at set the first time), the one
 * before 'archived'.
 */
async function syncProductionStage(db: Queryable, name: string, version: number | null): Promise<void> {
  await db.query(`UPDATE pipewright_model_versions SET stage = 'archived' WHERE name = $1 AND stage = 'production' AND version IS DISTINCT FROM $2`, [
    name,
    version,
  ]);
  if (version === null) return;
  await db.query(
    `UPDATE pipewright_model_versions SET stage = 'production', deployed_at = COALESCE(deployed_at, clock_timestamp()) WHERE name = $1 AND version = $2`,
    [name, version],
  );
}

/**
 * Appends the change to the history and moves the alias, with one timestamp for both. The clock is
 * read after the model's lock was taken (clock_timestamp, not the transaction's now()), so history
 * order by time is the order in which the changes were made, even when a transaction that began
 * earlier waited for the lock.
 */
async function recordChange(db: Queryable, name: string, alias: string, version: number | null, previous: number | null, audit: AliasAudit): Promise<void> {
  const history = `INSERT INTO pipewright_alias_history (name, alias, version, previous_version, changed_at, actor, reason)
                   VALUES ($1, $2, $3, $4, clock_timestamp(), $5, $6) RETURNING changed_at`;
  const values = [name, alias, version, previous, audit.actor, audit.reason];
  if (version === null) {
    await db.query(`WITH h AS (${history}) DELETE FROM pipewright_model_aliases WHERE name = $1 AND alias = $2 AND EXISTS (SELECT 1 FROM h)`, values);
    return;
  }
  await db.query(
    `WITH h AS (${history})
     INSERT INTO pipewright_model_aliases (name, alias, version, updated_at) SELECT $1, $2, $3, changed_at FROM h
     ON CONFLICT (name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
    values,
  );
}

/** setAlias inside a transaction that already holds the model's lock (registration, rollback). */
export async function setAliasLocked(db: Queryable, input: SetAliasInput): Promise<AliasSet> {
  const { name, alias, version } = input;
  checkAliasName(alias);
  checkAudit(input);
  await requireVersion(db, name, version);
  const previous = (await aliasVersion(db, name, alias)) ?? null;
  const changed = previous !== version;
  if (changed) await recordChange(db, name, alias, version, previous, input);
  // Also when unchanged: a stage column left out of step (by a writer before aliases) is put right.
  if (alias === PRODUCTION_ALIAS) await syncProductionStage(db, name, version);
  return { name, alias, version, previousVersion: previous, changed, row: await requireVersion(db, name, version) };
}

/**
 * Points `alias` of model `name` at `version`, and appends who did it and why to the alias history.
 * Idempotent: pointing it where it already points appends nothing. Moving `production` also moves
 * the legacy `stage` column. Errors name the unknown model, version or bad alias name.
 */
export async function setAlias(pool: Pool, input: SetAliasInput): Promise<AliasSet> {
  checkAliasName(input.alias);
  return withModelLock(pool, input.name, (client) => setAliasLocked(client, input));
}

/** Removes `alias` of model `name` (a history entry with no version). Removing an alias that is not set changes nothing. */
export async function removeAlias(pool: Pool, input: RemoveAliasInput): Promise<AliasChange> {
  const { name, alias } = input;
  checkAliasName(alias);
  checkAudit(input);
  return withModelLock(pool, name, async (client) => {
    await requireModel(client, name);
    const previous = (await aliasVersion(client, name, alias)) ?? null;
    if (previous === null) return { name, alias, version: null, previousVersion: null, changed: false };
    await recordChange(client, name, alias, null, previous, input);
    if (alias === PRODUCTION_ALIAS) await syncProductionStage(client, name, null);
    return { name, alias, version: null, previousVersion: previous, changed: true };
  });
}
