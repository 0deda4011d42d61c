import type { AliasHistoryEntry } from '../../lib/registry/alias-history';
import { aliasAtLines, aliasMove, historyLines } from '../../scripts/client/alias-history-lines';

const entry = (over: Partial<AliasHistoryEntry>): AliasHistoryEntry => ({
  id: 1,
  name: 'flights',
  alias: 'production',
  version: 1,
  previousVersion: null,
  changedAt: new Date('2026-11-29T10:00:00Z'),
  actor: 'run:flights-1',
  reason: 'deployed by its training run',
  ...over,
});

describe('aliasMove', () => {
  test('first set, moved, removed', () => {
    expect(aliasMove({ version: 1, previousVersion: null })).toBe('(none) → v1');
    expect(aliasMove({ version: 3, previousVersion: 2 })).toBe('v2 → v3');
    expect(aliasMove({ version: null, previousVersion: 3 })).toBe('v3 → (removed)');
  });
});

describe('historyLines', () => {
  test('aligned columns, newest first as given', () => {
    const lines = historyLines([
      entry({ id: 3, version: 2, previousVersion: 3, changedAt: new Date('2026-11-30T12:00:00Z'), actor: 'user:alice', reason: 'rolled back from the CLI' }),
      entry({
        id: 2,
        alias: 'candidate',
        version: 3,
        previousVersion: 2,
        changedAt: new Date('2026-11-30T09:00:00Z'),
        actor: 'run:flights-3',
        reason: 'registered by run flights-3',
      }),
    ]);
    expect(lines).toEqual([
      'changed at                alias       change   actor          reason',
      '2026-11-30T12:00:00.000Z  production  v3 → v2  user:alice     rolled back from the CLI',
      '2026-11-30T09:00:00.000Z  candidate   v2 → v3  run:flights-3  registered by run flights-3',
    ]);
  });

  test('no history yet', () => {
    expect(historyLines([])).toEqual(['no alias changes yet']);
  });
});

describe('aliasAtLines', () => {
  const at = new Date('2026-11-30T00:00:00Z');

  test('the version then, and the change that set it', () => {
    expect(aliasAtLines('flights', 'production', at, entry({ version: 2, previousVersion: 1 }))).toEqual([
      'flights production at 2026-11-30T00:00:00.000Z: v2',
      '  set 2026-11-29T10:00:00.000Z by run:flights-1: deployed by its training run (v1 → v2)',
    ]);
  });

  test('before the alias existed: when it was first set', () => {
    expect(aliasAtLines('flights', 'production', at, undefined, entry({ changedAt: new Date('2026-12-01T00:00:00Z') }))).toEqual([
      'flights production at 2026-11-30T00:00:00.000Z: no version (not set yet; it was first set 2026-12-01T00:00:00.000Z, to v1)',
    ]);
    expect(aliasAtLines('flights', 'staging', at, undefined)).toEqual([
      'flights staging at 2026-11-30T00:00:00.000Z: no version (not set yet; it has never been set)',
    ]);
  });

  test('after a removal: no version, and who removed which', () => {
    expect(aliasAtLines('flights', 'production', at, entry({ version: null, previousVersion: 2, actor: 'user:bob', reason: 'incident' }))).toEqual([
      'flights production at 2026-11-30T00:00:00.000Z: no version (removed from v2 2026-11-29T10:00:00.000Z by user:bob: incident)',
    ]);
  });
});
