import type { Pool } from 'pg';
import { aliasEntryAt, aliasHistory } from '../../lib/registry/alias-history';
import { PRODUCTION_ALIAS } from '../../lib/registry/alias-name';
import { setAlias, type AliasSet } from '../../lib/registry/aliases';
import { getModelVersion, modelNames } from '../../lib/registry/model-lookup';
import { listModelVersions } from '../../lib/registry/model-registry';
import { noModelMessage } from '../../lib/registry/registry-messages';
import { rollback } from '../../lib/registry/rollback';
import { requestReload } from '../../lib/serving/reload-client';
import { aliasAtLines, historyLines } from '../client/alias-history-lines';
import { versionDetailLines, versionListLines } from '../client/model-lines';
import { ALL_MODELS_USAGE, MODELS_SUBCOMMAND_LIST, parseModelsArgs, type ModelsCommandLine, type RegistryFlags } from '../client/registry-args';
import { UsageError } from '../client/usage-error';
import { cliActor, withRegistry, type RegistryConnection } from './registry-db';

/**
 * `pipewright models ...`: the registry's versions, one version in full, and the alias moves
 * (promote, rollback) with their history: which version served when, who moved it and why.
 */
export async function modelsCommand(args: readonly string[], flags: RegistryFlags = {}): Promise<number> {
  const command = parseModelsArgs(args, flags);
  return withRegistry((registry) => runModels(registry, command));
}

async function runModels(registry: RegistryConnection, command: ModelsCommandLine): Promise<number> {
  const { db } = registry;
  switch (command.kind) {
    case 'list':
      return list(db, command.name, command.implicit);
    case 'show': {
      const row = await getModelVersion(db, command.name, command.versionOrAlias ?? PRODUCTION_ALIAS).catch(async (err: unknown) => {
        // Without a version, a model that has no production version yet shows its latest one.
        if (command.versionOrAlias !== undefined) throw err;
        const versions = await listModelVersions(db, command.name);
        if (!versions.length) throw err;
        return versions[versions.length - 1]!;
      });
      for (const line of versionDetailLines(row)) console.log(line);
      return 0;
    }
    case 'promote': {
      const change = await setAlias(db, {
        name: command.name,
        alias: command.alias,
        version: command.version,
        actor: cliActor(),
        reason: command.reason ?? 'promoted from the CLI',
      });
      return reported(registry, change);
    }
    case 'rollback': {
      const change = await rollback(db, command.name, {
        alias: command.alias,
        actor: cliActor(),
        reason: command.reason ?? 'rolled back from the CLI',
        ...(command.to !== undefined ? { to: command.to } : {}),
      });
      return reported(registry, change);
    }
    case 'history': {
      if (command.at && command.alias) {
        const entry = await aliasEntryAt(db, command.name, command.alias, command.at);
        const first = entry ? undefined : (await aliasHistory(db, command.name, command.alias)).at(-1);
        for (const line of aliasAtLines(command.name, command.alias, command.at, entry, first)) console.log(line);
        return 0;
      }
      for (const line of historyLines(await aliasHistory(db, command.name, command.alias))) console.log(line);
      return 0;
    }
  }
}

async function list(db: Pool, name: string | undefined, implicit: boolean): Promise<number> {
  const rows = await listModelVersions(db, name);
  if (rows.length === 0) {
    if (!name) {
      console.log('no models registered yet');
      return 0;
    }
    const models = await modelNames(db);
    // `models <word>` may be a mistyped subcommand as much as a model name: say both.
    if (implicit)
      throw new UsageError(
        `"${name}" is neither a models subcommand (${MODELS_SUBCOMMAND_LIST}) nor a model (${noModelMessage(name, models)})`,
        ALL_MODELS_USAGE,
      );
    throw new Error(noModelMessage(name, models));
  }
  for (const r of rows) for (const line of versionListLines(r)) console.log(line);
  return 0;
}

/** Prints the move; when production moved, has the model server load it. 1 when the server answered but did not. */
async function reported(registry: RegistryConnection, change: AliasSet): Promise<number> {
  const { name, alias, version, previousVersion } = change;
  if (change.changed) console.log(`${name} ${alias}: ${previousVersion === null ? '(none)' : `v${previousVersion}`} → v${version}`);
  else console.log(`${name} ${alias} is already v${version}; nothing changed`);
  if (alias !== PRODUCTION_ALIAS) return 0;
  // Asked even when nothing changed: a server that missed an earlier move catches up (loading is idempotent).
  if (!registry.serveUrl) {
    console.log('The stack runs no model server; it will load the production version when it starts.');
    return 0;
  }
  try {
    const outcome = await requestReload(registry.serveUrl, { name, version });
    if (outcome.served) console.log(`The model server at ${registry.serveUrl} now serves ${name} v${version}.`);
    else console.log(`${outcome.reason}; it will load the production version when it starts.`);
    return 0;
  } catch (err) {
    console.error(`The registry's production is v${version}, but the model server did not follow: ${(err as Error).message}`);
    return 1;
  }
}
