import { PipelineInputError } from '../errors';
import { isAliasName } from './alias-name';
import { SELECT_VERSIONS, versionFromDb, type ModelVersionDbRow, type ModelVersionRow, type Queryable } from './model-rows';
import { noAliasMessage, noModelMessage, noVersionMessage } from './registry-messages';

/** Every model name, sorted: registered ones and, for registries older than pipewright_models, those with versions. */
export async function modelNames(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT name FROM pipewright_models UNION SELECT DISTINCT name FROM pipewright_model_versions ORDER BY name',
  );
  return rows.map((r) => r.name);
}

/** Throws the "no model named" error, listing the models there are, unless `name` has versions. */
export async function requireModel(db: Queryable, name: string): Promise<number[]> {
  const { rows } = await db.query<{ version: number }>('SELECT version FROM pipewright_model_versions WHERE name = $1 ORDER BY version', [name]);
  if (rows.length === 0) throw new PipelineInputError(noModelMessage(name, await modelNames(db)));
  return rows.map((r) => r.version);
}

/** The version's row; a clear error naming the versions there are when it does not exist. */
export async function requireVersion(db: Queryable, name: string, version: number): Promise<ModelVersionRow> {
  const { rows } = await db.query<ModelVersionDbRow>(`${SELECT_VERSIONS} WHERE v.name = $1 AND v.version = $2`, [name, version]);
  if (rows[0]) return versionFromDb(rows[0]);
  throw new PipelineInputError(noVersionMessage(name, version, await requireModel(db, name)));
}

/** The version an alias points at now, if it is set. */
export async function aliasVersion(db: Queryable, name: string, alias: string): Promise<number | undefined> {
  const { rows } = await db.query<{ version: number }>('SELECT version FROM pipewright_model_aliases WHERE name = $1 AND alias = $2', [name, alias]);
  return rows[0]?.version;
}

/**
 * A version by number (3, or "3") or by alias ("production"). Versions are numbers and aliases
 * start with a letter, so the two never clash. Throws a clear error for an unknown model, version
 * or alias.
 */
export async function getModelVersion(db: Queryable, name: string, versionOrAlias: number | string): Promise<ModelVersionRow> {
  if (typeof versionOrAlias === 'number' || /^\d+$/.test(versionOrAlias)) return requireVersion(db, name, Number(versionOrAlias));
  const version = await aliasVersion(db, name, versionOrAlias);
  if (version !== undefined) return requireVersion(db, name, version);
  await requireModel(db, name);
  if (!isAliasName(versionOrAlias)) throw new PipelineInputError(`"${versionOrAlias}" is neither a version number nor an alias of model ${name}`);
  const { rows } = await db.query<{ alias: string }>('SELECT alias FROM pipewright_model_aliases WHERE name = $1 ORDER BY alias', [name]);
  throw new PipelineInputError(
    noAliasMessage(
      name,
      versionOrAlias,
      rows.map((r) => r.alias),
    ),
  );
}

/** The version a run registered, if it registered one. */
export async function versionOfRun(db: Queryable, runId: string): Promise<ModelVersionRow | undefined> {
  const { rows } = await db.query<ModelVersionDbRow>(`${SELECT_VERSIONS} WHERE v.run_id = $1 ORDER BY v.name LIMIT 1`, [runId]);
  return rows[0] ? versionFromDb(rows[0]) : undefined;
}
