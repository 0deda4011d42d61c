import type { Pool } from 'pg';
import type { RegisterInput } from '../../contracts/stages';
import { CANDIDATE_ALIAS, PRODUCTION_ALIAS } from './alias-name';
import { setAlias, setAliasLocked, type AliasAudit } from './aliases';
import { withModelLock } from './model-lock';
import { requireVersion } from './model-lookup';
import { SELECT_VERSIONS, versionFromDb, type ModelVersionDbRow, type ModelVersionRow } from './model-rows';

/*
 * The model registry: versions per model name, each with its metrics, artifacts, lineage, blessing
 * and evaluation; aliases (production, candidate, user aliases) that point at versions, with an
 * append-only history of every move (aliases.ts, alias-history.ts, rollback.ts). This module is the
 * one import point for callers.
 */
export type { ModelVersionRow } from './model-rows';
export { getModelVersion, modelNames, versionOfRun } from './model-lookup';
export { removeAlias, setAlias, type AliasAudit, type AliasChange, type AliasSet, type RemoveAliasInput, type SetAliasInput } from './aliases';
export { aliasAt, aliasEntryAt, aliasHistory, type AliasHistoryEntry } from './alias-history';
export { rollback, type RollbackOptions } from './rollback';
export { ALIAS_NAME_RULE, CANDIDATE_ALIAS, checkAliasName, isAliasName, PRODUCTION_ALIAS } from './alias-name';

/** The history reason of the candidate alias a registration sets: the run, and its blessing when it has one. */
function registeredReason(input: RegisterInput): string {
  const blessing = input.blessing ? `; ${input.blessing.blessed ? 'blessed' : 'not blessed'}: ${input.blessing.reason}` : '';
  return `registered by run ${input.runId}${blessing}`;
}

/**
 * Registers the model a run produced as the next version of its name, with its lineage, blessing,
 * evaluation report, importance and training curves, and points the `candidate` alias at it, all in
 * one transaction. Idempotent: registering the same run again returns the version it already has
 * and moves nothing.
 */
export async function registerModelVersion(pool: Pool, input: RegisterInput): Promise<ModelVersionRow> {
  return withModelLock(pool, input.name, async (client) => {
    const existing = await client.query<{ version: number }>('SELECT version FROM pipewright_model_versions WHERE name = $1 AND run_id = $2', [
      input.name,
      input.runId,
    ]);
    if (existing.rows[0]) return requireVersion(client, input.name, existing.rows[0].version);
    await client.query('INSERT INTO pipewright_models (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [input.name]);
    const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
    const inserted = await client.query<{ version: number }>(
      `INSERT INTO pipewright_model_versions
         (name, version, run_id, backend, metrics, model_uri, model_sha256, transform_uri, transform_sha256, dataset_sha256, spec,
          lineage, blessing, evaluation_uri, importance, training, cross_validation, search)
       SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
         FROM pipewright_model_versions WHERE name = $1
       RETURNING version`,
      [
        input.name,
        input.runId,
        input.model.backend,
        JSON.stringify(input.metrics),
        input.model.uri,
        input.model.sha256,
        input.transform.uri,
        input.transform.sha256,
        input.datasetSha256,
        JSON.stringify(input.spec),
        json(input.lineage),
        json(input.blessing),
        input.evaluation?.uri ?? null,
        json(input.importance),
        json(input.training),
        json(input.crossValidation),
        json(input.search),
      ],
    );
    const version = inserted.rows[0]!.version;
    const { row } = await setAliasLocked(client, {
      name: input.name,
      alias: CANDIDATE_ALIAS,
      version,
      actor: `run:${input.runId}`,
      reason: registeredReason(input),
    });
    return row;
  });
}

/**
 * Points the production alias at `version` (the legacy stage column follows), appending who and
 * why to the history. Idempotent. Without an actor it is taken to be the deploy stage of the run
 * that registered the version, which is who calls it without one.
 */
export async function promoteToProduction(pool: Pool, name: string, version: number, opts: Partial<AliasAudit> = {}): Promise<ModelVersionRow> {
  let actor = opts.actor;
  if (actor === undefined) actor = `run:${(await requireVersion(pool, name, version)).runId}`;
  const reason = opts.reason ?? 'deployed by the run that registered it';
  const { row } = await setAlias(pool, { name, alias: PRODUCTION_ALIAS, version, actor, reason });
  return row;
}

/** The version the production alias of `name` points at, which the model server serves. */
export async function productionVersion(pool: Pool, name: string): Promise<ModelVersionRow | undefined> {
  const { rows } = await pool.query<ModelVersionDbRow>(
    `${SELECT_VERSIONS} JOIN pipewright_model_aliases p ON p.name = v.name AND p.version = v.version AND p.alias = '${PRODUCTION_ALIAS}' WHERE v.name = $1`,
    [name],
  );
  return rows[0] ? versionFromDb(rows[0]) : undefined;
}

/** The production version of every model that has one, by name. */
export async function productionModels(pool: Pool): Promise<ModelVersionRow[]> {
  const { rows } = await pool.query<ModelVersionDbRow>(
    `${SELECT_VERSIONS} JOIN pipewright_model_aliases p ON p.name = v.name AND p.version = v.version AND p.alias = '${PRODUCTION_ALIAS}' ORDER BY v.name`,
  );
  return rows.map(versionFromDb);
}

/** Every version of one model or of all, by name and version. */
export async function listModelVersions(pool: Pool, name?: string): Promise<ModelVersionRow[]> {
  const { rows } = name
    ? await pool.query<ModelVersionDbRow>(`${SELECT_VERSIONS} WHERE v.name = $1 ORDER BY v.version`, [name])
    : await pool.query<ModelVersionDbRow>(`${SELECT_VERSIONS} ORDER BY v.name, v.version`);
  return rows.map(versionFromDb);
}
