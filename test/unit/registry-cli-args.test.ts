import { parseModelsArgs, parseRunsArgs } from '../../scripts/client/registry-args';
import { parseInstant, parseVersionArg, UsageError } from '../../scripts/client/usage-error';

/** The usage error a command line gives: its message and usage line. */
function usageError(f: () => unknown): { message: string; usage: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof UsageError) return { message: err.message, usage: err.usage };
    throw err;
  }
  throw new Error('expected a usage error');
}

describe('models command lines', () => {
  test('list: bare, with list, and the form before subcommands', () => {
    expect(parseModelsArgs([], {})).toEqual({ kind: 'list', implicit: false });
    expect(parseModelsArgs(['list'], {})).toEqual({ kind: 'list', implicit: false });
    expect(parseModelsArgs(['list', 'flights'], {})).toEqual({ kind: 'list', name: 'flights', implicit: false });
    expect(parseModelsArgs(['flights'], {})).toEqual({ kind: 'list', name: 'flights', implicit: true });
  });

  test('show: a version number (3 or v3) or an alias', () => {
    expect(parseModelsArgs(['show', 'flights'], {})).toEqual({ kind: 'show', name: 'flights' });
    expect(parseModelsArgs(['show', 'flights', 'v3'], {})).toEqual({ kind: 'show', name: 'flights', versionOrAlias: 3 });
    expect(parseModelsArgs(['show', 'flights', 'candidate'], {})).toEqual({ kind: 'show', name: 'flights', versionOrAlias: 'candidate' });
    expect(usageError(() => parseModelsArgs(['show', 'flights', 'Bad!'], {})).message).toContain('"Bad!" is neither a version number nor an alias name');
  });

  test('promote: production unless --alias, with the reason', () => {
    expect(parseModelsArgs(['promote', 'flights', '3'], {})).toEqual({ kind: 'promote', name: 'flights', version: 3, alias: 'production' });
    expect(parseModelsArgs(['promote', 'flights', '3'], { alias: 'staging', reason: 'A/B' })).toEqual({
      kind: 'promote',
      name: 'flights',
      version: 3,
      alias: 'staging',
      reason: 'A/B',
    });
  });

  test('rollback and history', () => {
    expect(parseModelsArgs(['rollback', 'flights'], { to: 'v2' })).toEqual({ kind: 'rollback', name: 'flights', alias: 'production', to: 2 });
    expect(parseModelsArgs(['history', 'flights'], {})).toEqual({ kind: 'history', name: 'flights' });
    expect(parseModelsArgs(['history', 'flights'], { alias: 'candidate' })).toEqual({ kind: 'history', name: 'flights', alias: 'candidate' });
    // --at asks which version held an alias then: production unless named.
    expect(parseModelsArgs(['history', 'flights'], { at: '2026-11-30T12:00:00Z' })).toEqual({
      kind: 'history',
      name: 'flights',
      alias: 'production',
      at: new Date('2026-11-30T12:00:00Z'),
    });
  });

  test('bad input: a one-line message naming it, with the subcommand’s usage line', () => {
    expect(usageError(() => parseModelsArgs(['promote', 'flights'], {}))).toEqual({
      message: 'models promote: missing <version>',
      usage: 'pipewright models promote <name> <version> [--alias A] [--reason "..."]',
    });
    expect(usageError(() => parseModelsArgs(['promote', 'flights', 'three'], {})).message).toBe(
      '<version> must be a version number such as 3 or v3, got "three"',
    );
    expect(usageError(() => parseModelsArgs(['promote', 'flights', '0'], {})).message).toContain('got "0"');
    expect(usageError(() => parseModelsArgs(['promote', 'flights', '3', 'x'], {})).message).toBe('models promote: unexpected argument "x"');
    expect(usageError(() => parseModelsArgs(['promote', 'flights', '3'], { alias: 'Prod' })).message).toContain('--alias "Prod" is not a valid alias name');
    expect(usageError(() => parseModelsArgs(['promote', 'flights', '3'], { to: '2' })).message).toBe('--to is not an option of models promote');
    expect(usageError(() => parseModelsArgs(['rollback'], {})).message).toBe('models rollback: missing <name>');
    expect(usageError(() => parseModelsArgs(['rollback', 'flights'], { to: 'x' })).message).toContain('--to must be a version number');
    expect(usageError(() => parseModelsArgs(['history', 'flights'], { at: 'yesterday' })).message).toContain('--at must be a date or date-time');
    expect(usageError(() => parseModelsArgs(['promot', 'flights', '3'], {})).message).toBe(
      'unknown models subcommand "promot" (subcommands: list, show, promote, rollback, history)',
    );
    expect(usageError(() => parseModelsArgs(['history', 'flights'], { reason: '' })).message).toBe('--reason is not an option of models history');
    expect(usageError(() => parseModelsArgs(['promote', 'flights', '3'], { reason: ' ' })).message).toBe('--reason must not be empty');
  });
});

describe('runs command lines', () => {
  test('list, the pipeline form before subcommands, show and compare', () => {
    expect(parseRunsArgs([], {})).toEqual({ kind: 'list' });
    expect(parseRunsArgs(['list'], {})).toEqual({ kind: 'list' });
    expect(parseRunsArgs(['list', 'flights'], {})).toEqual({ kind: 'list', pipeline: 'flights' });
    expect(parseRunsArgs(['flights'], {})).toEqual({ kind: 'list', pipeline: 'flights' });
    expect(parseRunsArgs(['show', 'r1'], {})).toEqual({ kind: 'show', runId: 'r1' });
    expect(parseRunsArgs(['compare', 'r1', 'r2'], {})).toEqual({ kind: 'compare', a: 'r1', b: 'r2' });
  });

  test('bad input', () => {
    expect(usageError(() => parseRunsArgs(['compare', 'r1'], {}))).toEqual({
      message: 'runs compare: missing <run-b>',
      usage: 'pipewright runs compare <run-a> <run-b>',
    });
    expect(usageError(() => parseRunsArgs(['show'], {})).message).toBe('runs show: missing <run>');
    expect(usageError(() => parseRunsArgs(['shw', 'r1'], {})).message).toBe('unknown runs subcommand "shw" (subcommands: list, show, compare)');
    expect(usageError(() => parseRunsArgs(['show', 'r1'], { alias: 'x' })).message).toBe('--alias is not an option of runs show');
  });
});

describe('argument values', () => {
  test('versions', () => {
    expect(parseVersionArg('12', 'v', 'u')).toBe(12);
    expect(parseVersionArg('v7', 'v', 'u')).toBe(7);
    for (const bad of ['', '-1', '1.5', 'v', '3x', '99999999999999999999']) expect(() => parseVersionArg(bad, 'v', 'u')).toThrow(UsageError);
  });

  test('instants: ISO date-times with or without offset, and dates; nothing guessed', () => {
    expect(parseInstant('2026-11-30T12:00:00Z', 'at', 'u').toISOString()).toBe('2026-11-30T12:00:00.000Z');
    expect(parseInstant('2026-11-30T12:00:00+02:00', 'at', 'u').toISOString()).toBe('2026-11-30T10:00:00.000Z');
    expect(parseInstant('2026-11-30', 'at', 'u').toISOString()).toBe('2026-11-30T00:00:00.000Z');
    for (const bad of ['1', 'March', '2026-13-45', '2026-11-30T25:00:00Z', 'now']) expect(() => parseInstant(bad, 'at', 'u')).toThrow(UsageError);
  });
});
