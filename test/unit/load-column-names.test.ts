import { checkTableName, isPlainIdentifier, sanitiseColumnNames } from '../../lib/data/load/column-names';

describe('sanitiseColumnNames', () => {
  test('plain lowercase names stay as they are and are not reported', () => {
    expect(sanitiseColumnNames(['id', 'delay', 'origin_code'])).toEqual({ names: ['id', 'delay', 'origin_code'], renamed: [] });
  });

  test('case, spaces and punctuation become lowercase words joined by one underscore', () => {
    const { names, renamed } = sanitiseColumnNames(['Pickup Time', 'Fare ($)', 'a--b', '(x)', 'Été']);
    expect(names).toEqual(['pickup_time', 'fare', 'a_b', 'x', 'ete']);
    expect(renamed).toEqual([
      { header: 'Pickup Time', name: 'pickup_time' },
      { header: 'Fare ($)', name: 'fare' },
      { header: 'a--b', name: 'a_b' },
      { header: '(x)', name: 'x' },
      { header: 'Été', name: 'ete' },
    ]);
  });

  test('a leading digit gets an underscore; underscores the file wrote are kept', () => {
    expect(sanitiseColumnNames(['2nd', '_id', 'x_']).names).toEqual(['_2nd', '_id', 'x_']);
  });

  test('empty or unusable headers become column_N (1-based position)', () => {
    expect(sanitiseColumnNames(['a', '', '$$$']).names).toEqual(['a', 'column_2', 'column_3']);
  });

  test('duplicates, also ones that only differ in case, get _2, _3 and never collide with a real column', () => {
    expect(sanitiseColumnNames(['Date', 'date', 'DATE', 'date_2']).names).toEqual(['date', 'date_2', 'date_3', 'date_2_2']);
  });

  test('every result is a plain identifier of at most 63 characters, also for long headers with suffixes', () => {
    const long = 'x'.repeat(100);
    const { names } = sanitiseColumnNames([long, long, '1', '!!!', 'Ünïcödé Nämé']);
    for (const name of names) expect(isPlainIdentifier(name)).toBe(true);
    expect(names[0]).toHaveLength(63);
    expect(names[1]).toBe(`${'x'.repeat(61)}_2`);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('checkTableName', () => {
  test('accepts plain identifiers', () => {
    expect(() => checkTableName('trips_2024')).not.toThrow();
    expect(() => checkTableName('_t')).not.toThrow();
  });

  test.each(['2024_trips', 'my table', 'trips;drop', 'x'.repeat(64), ''])('refuses %j and suggests a name', (name) => {
    expect(() => checkTableName(name)).toThrow(/--table: .* is not a plain SQL identifier/);
  });

  test('the message suggests the sanitised name', () => {
    expect(() => checkTableName('My Trips')).toThrow(/e\.g\. my_trips/);
  });
});
