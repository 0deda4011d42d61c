import type { AliasHistoryEntry } from '../../lib/registry/alias-history';
import { textTable } from './text-table';

/** How the CLI shows alias history (`models history`). Pure. */

const v = (version: number | null): string => (version === null ? '(none)' : `v${version}`);

/** "v2 → v3", "(none) → v1", "v3 → (removed)". */
export function aliasMove(e: Pick<AliasHistoryEntry, 'version' | 'previousVersion'>): string {
  return `${v(e.previousVersion)} → ${e.version === null ? '(removed)' : v(e.version)}`;
}

/** The history, newest first as given, as aligned columns: when, alias, move, who, why. */
export function historyLines(entries: readonly AliasHistoryEntry[]): string[] {
  if (entries.length === 0) return ['no alias changes yet'];
  return textTable([
    ['changed at', 'alias', 'change', 'actor', 'reason'],
    ...entries.map((e) => [e.changedAt.toISOString(), e.alias, aliasMove(e), e.actor, e.reason]),
  ]);
}

/**
 * The answer to "which version held the alias at `at`": the version, and the change that put it
 * there. `first` (the alias's oldest entry) explains an instant before the alias existed.
 */
export function aliasAtLines(name: string, alias: string, at: Date, entry: AliasHistoryEntry | undefined, first?: AliasHistoryEntry): string[] {
  const when = at.toISOString();
  if (!entry) {
    const since = first ? `; it was first set ${first.changedAt.toISOString()}, to v${first.version}` : '; it has never been set';
    return [`${name} ${alias} at ${when}: no version (not set yet${since})`];
  }
  const by = `${entry.changedAt.toISOString()} by ${entry.actor}: ${entry.reason}`;
  if (entry.version === null) return [`${name} ${alias} at ${when}: no version (removed from v${entry.previousVersion} ${by})`];
  return [`${name} ${alias} at ${when}: v${entry.version}`, `  set ${by} (${aliasMove(entry)})`];
}
