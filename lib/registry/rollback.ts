import type { Pool } from 'pg';
import { PipelineInputError } from '../errors';
import { checkAliasName, PRODUCTION_ALIAS } from './alias-name';
import { setAliasLocked, type AliasAudit, type AliasSet } from './aliases';
import { withModelLock } from './model-lock';
import { aliasVersion, requireModel } from './model-lookup';

export interface RollbackOptions extends AliasAudit {
  /** Default production. */
  alias?: string;
  /** The version to go back to; default: the one the alias held before its current one. */
  to?: number;
}

/**
 * Points the alias back at the version it held before its current one (the newest history entry
 * with another version; removals are skipped), or at `to`. Rolling back twice therefore returns to
 * where it started, as an undo of the undo. An error says so when the alias never held another
 * version. Runs under the model's lock, so the history read and the move are one step.
 */
export async function rollback(pool: Pool, name: string, options: RollbackOptions): Promise<AliasSet> {
  const alias = checkAliasName(options.alias ?? PRODUCTION_ALIAS);
  const audit = { actor: options.actor, reason: options.reason };
  return withModelLock(pool, name, async (client) => {
    await requireModel(client, name);
    if (options.to !== undefined) return setAliasLocked(client, { name, alias, version: options.to, ...audit });
    const current = await aliasVersion(client, name, alias);
    const { rows } = await client.query<{ version: number }>(
      `SELECT version FROM pipewright_alias_history
        WHERE name = $1 AND alias = $2 AND version IS NOT NULL AND version IS DISTINCT FROM $3
        ORDER BY changed_at DESC, id DESC LIMIT 1`,
      [name, alias, current ?? null],
    );
    const target = rows[0]?.version;
    if (target === undefined) {
      const held = current === undefined ? 'has never been set' : `has only ever pointed at v${current}`;
      throw new PipelineInputError(`nothing to roll back to: alias ${alias} of model ${name} ${held}; name the version to point it at`);
    }
    return setAliasLocked(client, { name, alias, version: target, ...audit });
  });
}
