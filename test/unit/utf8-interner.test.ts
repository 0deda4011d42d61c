import { Utf8, vectorFromArray, type Data } from 'apache-arrow';
import { Utf8Interner } from '../../lib/features/utf8-interner';

function dataOf(values: Array<string | null>): Data<Utf8> {
  return vectorFromArray(values, new Utf8()).data[0]!;
}

function intern(interner: Utf8Interner, values: Array<string | null>): number[] {
  const data = dataOf(values);
  const ids = new Int32Array(data.length);
  interner.intern(data, ids);
  return Array.from(ids);
}

describe('Utf8Interner', () => {
  test('gives equal values one id and nulls -1, in first-seen order', () => {
    const interner = new Utf8Interner();
    expect(intern(interner, ['BOS', 'SFO', 'BOS', null, '', 'SFO', ''])).toEqual([0, 1, 0, -1, 2, 1, 2]);
    expect(interner.values).toEqual(['BOS', 'SFO', '']);
  });

  test('keeps ids across batches', () => {
    const interner = new Utf8Interner();
    intern(interner, ['a', 'b']);
    expect(intern(interner, ['c', 'b', 'a'])).toEqual([2, 1, 0]);
  });

  test('decodes multi-byte UTF-8 and tells apart values that share a prefix or differ only in case', () => {
    const interner = new Utf8Interner();
    const values = ['Zürich', '東京', '🛫', 'Zurich', 'zürich', 'Zü', 'Zürich'];
    const ids = intern(interner, values);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 0]);
    expect(ids.map((id) => interner.values[id])).toEqual(values);
  });

  test('every one of 50,000 distinct values gets its own id and reads back (hash collisions resolved by bytes)', () => {
    const interner = new Utf8Interner();
    const values = Array.from({ length: 50_000 }, (_, i) => `v${i.toString(36)}`);
    const ids = intern(interner, [...values, ...values.slice().reverse()]);
    expect(new Set(ids.slice(0, 50_000)).size).toBe(50_000);
    expect(ids.slice(50_000)).toEqual(ids.slice(0, 50_000).reverse());
    expect(ids.slice(0, 50_000).map((id) => interner.values[id])).toEqual(values);
  });

  test('honours a column slice (Data offset)', () => {
    const interner = new Utf8Interner();
    const sliced = vectorFromArray(['x', null, 'y', 'x', 'z'], new Utf8()).slice(1, 4).data[0]!;
    const ids = new Int32Array(sliced.length);
    interner.intern(sliced, ids);
    expect(Array.from(ids)).toEqual([-1, 0, 1]);
    expect(interner.values).toEqual(['y', 'x']);
  });
});
