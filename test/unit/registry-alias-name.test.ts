import { ALIAS_NAME_PATTERN, checkAliasName, isAliasName } from '../../lib/registry/alias-name';
import { nameList, noAliasMessage, noModelMessage, noVersionMessage, versionRanges } from '../../lib/registry/registry-messages';
import { PIPELINE_INPUT_ERROR } from '../../contracts/failures';

describe('alias names', () => {
  test('production, candidate and lowercase user aliases are valid', () => {
    for (const alias of ['production', 'candidate', 'staging', 'a', 'champion-2', 'shadow_eu', `a${'b'.repeat(62)}`]) expect(isAliasName(alias)).toBe(true);
  });

  test('anything else is refused with an error naming the alias and the rule', () => {
    for (const alias of ['', 'Production', '2fast', '-x', '_x', 'with space', 'dot.ted', 'ünï', `a${'b'.repeat(63)}`, 'latest!']) {
      expect(isAliasName(alias)).toBe(false);
      expect(() => checkAliasName(alias)).toThrow(`"${alias}" is not a valid alias name: use production, candidate, or a lowercase letter`);
    }
    expect(() => checkAliasName('Prod')).toThrow(ALIAS_NAME_PATTERN.source);
  });

  test('the error is a user input error (non-retryable in activities)', () => {
    let name = '';
    try {
      checkAliasName('Bad');
    } catch (err) {
      name = (err as Error).name;
    }
    expect(name).toBe(PIPELINE_INPUT_ERROR);
  });

  test('checkAliasName returns a valid alias', () => {
    expect(checkAliasName('production')).toBe('production');
  });
});

describe('registry messages', () => {
  test('versions as ranges', () => {
    expect(versionRanges([1, 2, 3, 4])).toBe('1–4');
    expect(versionRanges([5, 1, 2, 3, 7, 8])).toBe('1–3, 5, 7–8');
    expect(versionRanges([2])).toBe('2');
    expect(versionRanges([])).toBe('');
  });

  test('the not-found messages list what exists', () => {
    expect(noVersionMessage('flights', 9, [1, 2, 3, 4])).toBe('model flights has no version 9 (versions 1–4)');
    expect(noModelMessage('x', ['a', 'b'])).toBe('no model named "x" (models: a, b)');
    expect(noModelMessage('x', [])).toBe('no model named "x" (no models registered yet)');
    expect(noAliasMessage('flights', 'staging', ['candidate', 'production'])).toBe('model flights has no alias "staging" (aliases: candidate, production)');
  });

  test('long name lists are cut with a count', () => {
    expect(nameList(['a', 'b', 'c'], 2)).toBe('a, b, … 1 more');
  });
});
