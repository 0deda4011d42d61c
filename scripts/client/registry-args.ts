import { ALIAS_NAME_RULE, isAliasName, PRODUCTION_ALIAS } from '../../lib/registry/alias-name';
import { parseInstant, parseVersionArg, UsageError } from './usage-error';

/*
 * The `models` and `runs` command lines, parsed and checked before anything connects: a typo is a
 * usage error (exit 2) that names it, never a half-done change. Pure.
 */

export const MODELS_USAGE = {
  list: 'pipewright models [list] [name]',
  show: 'pipewright models show <name> [version|alias]',
  promote: 'pipewright models promote <name> <version> [--alias A] [--reason "..."]',
  rollback: 'pipewright models rollback <name> [--alias A] [--to V] [--reason "..."]',
  history: 'pipewright models history <name> [--alias A] [--at 2026-11-30T12:00:00Z]',
} as const;

export const RUNS_USAGE = {
  list: 'pipewright runs [list] [pipeline]',
  show: 'pipewright runs show <run>',
  compare: 'pipewright runs compare <run-a> <run-b>',
} as const;

const ALL_MODELS_USAGE = Object.values(MODELS_USAGE).join('\n       ');
const ALL_RUNS_USAGE = Object.values(RUNS_USAGE).join('\n       ');

/** The flags these commands take, as parseArgs gives them. */
export interface RegistryFlags {
  alias?: string | undefined;
  reason?: string | undefined;
  to?: string | undefined;
  at?: string | undefined;
}

export type ModelsCommandLine =
  /** `implicit`: typed as `models <name>` (the form before subcommands), so an unknown name may be a mistyped subcommand. */
  | { kind: 'list'; name?: string; implicit: boolean }
  | { kind: 'show'; name: string; versionOrAlias?: number | string }
  | { kind: 'promote'; name: string; version: number; alias: string; reason?: string }
  | { kind: 'rollback'; name: string; alias: string; to?: number; reason?: string }
  | { kind: 'history'; name: string; alias?: string; at?: Date };

export type RunsCommandLine = { kind: 'list'; pipeline?: string } | { kind: 'show'; runId: string } | { kind: 'compare'; a: string; b: string };

function onlyFlags(flags: RegistryFlags, allowed: ReadonlyArray<keyof RegistryFlags>, command: string, usage: string): void {
  for (const flag of ['alias', 'reason', 'to', 'at'] as const) {
    if (flags[flag] !== undefined && !allowed.includes(flag)) throw new UsageError(`--${flag} is not an option of ${command}`, usage);
  }
}

function positionals(args: readonly string[], required: readonly string[], optional: readonly string[], command: string, usage: string): string[] {
  const missing = required[args.length];
  if (missing !== undefined) throw new UsageError(`${command}: missing ${missing}`, usage);
  if (args.length > required.length + optional.length)
    throw new UsageError(`${command}: unexpected argument "${args[required.length + optional.length]}"`, usage);
  return [...args];
}

function aliasFlag(value: string | undefined, usage: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isAliasName(value)) throw new UsageError(`--alias "${value}" is not a valid alias name: use ${ALIAS_NAME_RULE}`, usage);
  return value;
}

function reasonFlag(value: string | undefined, usage: string): string | undefined {
  if (value !== undefined && !value.trim()) throw new UsageError('--reason must not be empty', usage);
  return value;
}

const MODELS_SUBCOMMANDS = Object.keys(MODELS_USAGE);

/** `pipewright models ...` after the word `models`. */
export function parseModelsArgs(args: readonly string[], flags: RegistryFlags): ModelsCommandLine {
  const [sub, ...rest] = args;
  if (sub === undefined || !MODELS_SUBCOMMANDS.includes(sub)) {
    // `models` and `models <name>`: the list, as before subcommands existed.
    if (args.length > 1) throw new UsageError(`unknown models subcommand "${sub}" (subcommands: ${MODELS_SUBCOMMANDS.join(', ')})`, ALL_MODELS_USAGE);
    onlyFlags(flags, [], 'models', ALL_MODELS_USAGE);
    return sub === undefined ? { kind: 'list', implicit: false } : { kind: 'list', name: sub, implicit: true };
  }
  const usage = MODELS_USAGE[sub as keyof typeof MODELS_USAGE];
  const command = `models ${sub}`;
  switch (sub) {
    case 'list': {
      onlyFlags(flags, [], command, usage);
      const [name] = positionals(rest, [], ['name'], command, usage);
      return { kind: 'list', implicit: false, ...(name !== undefined ? { name } : {}) };
    }
    case 'show': {
      onlyFlags(flags, [], command, usage);
      const [name, which] = positionals(rest, ['<name>'], ['version'], command, usage);
      if (which === undefined) return { kind: 'show', name: name! };
      if (/^v?\d+$/.test(which)) return { kind: 'show', name: name!, versionOrAlias: parseVersionArg(which, 'the version', usage) };
      if (!isAliasName(which)) throw new UsageError(`"${which}" is neither a version number nor an alias name (${ALIAS_NAME_RULE})`, usage);
      return { kind: 'show', name: name!, versionOrAlias: which };
    }
    case 'promote': {
      onlyFlags(flags, ['alias', 'reason'], command, usage);
      const [name, version] = positionals(rest, ['<name>', '<version>'], [], command, usage);
      const reason = reasonFlag(flags.reason, usage);
      return {
        kind: 'promote',
        name: name!,
        version: parseVersionArg(version!, '<version>', usage),
        alias: aliasFlag(flags.alias, usage) ?? PRODUCTION_ALIAS,
        ...(reason !== undefined ? { reason } : {}),
      };
    }
    case 'rollback': {
      onlyFlags(flags, ['alias', 'reason', 'to'], command, usage);
      const [name] = positionals(rest, ['<name>'], [], command, usage);
      const reason = reasonFlag(flags.reason, usage);
      return {
        kind: 'rollback',
        name: name!,
        alias: aliasFlag(flags.alias, usage) ?? PRODUCTION_ALIAS,
        ...(flags.to !== undefined ? { to: parseVersionArg(flags.to, '--to', usage) } : {}),
        ...(reason !== undefined ? { reason } : {}),
      };
    }
    default: {
      onlyFlags(flags, ['alias', 'at'], command, usage);
      const [name] = positionals(rest, ['<name>'], [], command, usage);
      const alias = aliasFlag(flags.alias, usage);
      // "Which version served then" is a question about one alias: production unless another is named.
      if (flags.at !== undefined) return { kind: 'history', name: name!, alias: alias ?? PRODUCTION_ALIAS, at: parseInstant(flags.at, '--at', usage) };
      return { kind: 'history', name: name!, ...(alias !== undefined ? { alias } : {}) };
    }
  }
}

/** `pipewright runs ...` after the word `runs`. A first word that is not a subcommand is a pipeline, as before subcommands existed. */
export function parseRunsArgs(args: readonly string[], flags: RegistryFlags): RunsCommandLine {
  const [sub, ...rest] = args;
  if (sub === 'show') {
    onlyFlags(flags, [], 'runs show', RUNS_USAGE.show);
    const [runId] = positionals(rest, ['<run>'], [], 'runs show', RUNS_USAGE.show);
    return { kind: 'show', runId: runId! };
  }
  if (sub === 'compare') {
    onlyFlags(flags, [], 'runs compare', RUNS_USAGE.compare);
    const [a, b] = positionals(rest, ['<run-a>', '<run-b>'], [], 'runs compare', RUNS_USAGE.compare);
    return { kind: 'compare', a: a!, b: b! };
  }
  if (sub !== 'list' && args.length > 1) throw new UsageError(`unknown runs subcommand "${sub}" (subcommands: list, show, compare)`, ALL_RUNS_USAGE);
  const listArgs = sub === 'list' ? rest : args;
  onlyFlags(flags, [], 'runs', ALL_RUNS_USAGE);
  const [pipeline] = positionals(listArgs, [], ['pipeline'], sub === 'list' ? 'runs list' : 'runs', sub === 'list' ? RUNS_USAGE.list : ALL_RUNS_USAGE);
  return { kind: 'list', ...(pipeline !== undefined ? { pipeline } : {}) };
}

/** Subcommands, for the "neither a subcommand nor a model" message. */
export const MODELS_SUBCOMMAND_LIST = MODELS_SUBCOMMANDS.join(', ');
export { ALL_MODELS_USAGE, ALL_RUNS_USAGE };
