import { diffJson, diffValue } from '../../lib/registry/spec-diff';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import flights from '../../examples/flights.json';

describe('diffJson', () => {
  test('equal documents have no differences, whatever their key order', () => {
    expect(diffJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
    expect(diffJson(null, null)).toEqual([]);
  });

  test('a changed leaf is one difference at its path, with both values', () => {
    expect(diffJson({ model: { epochs: 2, seed: 3 } }, { model: { epochs: 3, seed: 3 } })).toEqual([{ path: '$.model.epochs', a: 2, b: 3 }]);
  });

  test('a key one side lacks is absent (undefined) on that side; keys only b has come after a’s', () => {
    expect(diffJson({ x: 1, limit: 5 }, { x: 1, z: true })).toEqual([
      { path: '$.limit', a: 5, b: undefined },
      { path: '$.z', a: undefined, b: true },
    ]);
  });

  test('arrays are compared position by position; extra positions are absent on the shorter side', () => {
    expect(diffJson({ f: [{ k: 'a' }, { k: 'b' }] }, { f: [{ k: 'a' }, { k: 'c' }, { k: 'd' }] })).toEqual([
      { path: '$.f[1].k', a: 'b', b: 'c' },
      { path: '$.f[2]', a: undefined, b: { k: 'd' } },
    ]);
  });

  test('a change of kind (object to scalar, array to object) is one difference, not a walk', () => {
    expect(diffJson({ s: { a: 1 } }, { s: 'x' })).toEqual([{ path: '$.s', a: { a: 1 }, b: 'x' }]);
    expect(diffJson({ s: [1] }, { s: { 0: 1 } })).toEqual([{ path: '$.s', a: [1], b: { 0: 1 } }]);
    expect(diffJson({ s: null }, { s: {} })).toEqual([{ path: '$.s', a: null, b: {} }]);
  });

  test('keys that are not identifiers are quoted in the path', () => {
    expect(diffJson({ 'odd key': 1, '2x': 1 }, { 'odd key': 2, '2x': 2 }).map((d) => d.path)).toEqual(['$["odd key"]', '$["2x"]']);
  });

  test('two real specs: the fields a user changed', () => {
    const a = parsePipelineSpec(flights);
    const b = parsePipelineSpec({ ...flights, model: { ...(flights.model as object), epochs: 7 }, split: { ...(flights.split as object), seed: 99 } });
    const paths = diffJson(a, b).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['$.model.epochs', '$.split.seed']));
    expect(paths).toHaveLength(2);
  });

  test('diffValue shows JSON, and "(absent)" for a missing side', () => {
    expect(diffValue(undefined)).toBe('(absent)');
    expect(diffValue('x')).toBe('"x"');
    expect(diffValue({ a: [1] })).toBe('{"a":[1]}');
    expect(diffValue(null)).toBe('null');
  });
});
