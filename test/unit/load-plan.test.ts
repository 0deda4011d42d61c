import { copySql, createTableSql, planLoad, type FileColumns } from '../../lib/data/load/load-plan';

const file = (headers: string[], types: FileColumns['types'], fileTypes?: string[]): FileColumns => ({ headers, types, ...(fileTypes ? { fileTypes } : {}) });

describe('planLoad', () => {
  test('adds a bigint key first when the file has no column of that name', () => {
    const plan = planLoad(file(['a', 'B'], ['text', 'bigint']), { table: 't', key: 'id' });
    expect(plan.key).toEqual({ name: 'id', generated: true });
    expect(plan.columns).toEqual([
      { name: 'id', type: 'bigint', source: -1, notNull: true },
      { name: 'a', header: 'a', type: 'text', source: 0, notNull: false },
      { name: 'b', header: 'B', type: 'bigint', source: 1, notNull: false },
    ]);
    expect(createTableSql(plan)).toBe('CREATE TABLE "t" ("id" bigint, "a" text, "b" bigint)');
    expect(copySql(plan)).toBe('COPY "t" ("id", "a", "b") FROM STDIN (FORMAT binary)');
  });

  test("uses the file's column as the key, found by its SQL name or its header", () => {
    expect(planLoad(file(['x', 'ID'], ['text', 'bigint']), { table: 't', key: 'id' }).key).toEqual({ name: 'id', generated: false });
    expect(planLoad(file(['Row Nr', 'x'], ['integer', 'text']), { table: 't', key: 'Row Nr' }).key).toEqual({ name: 'row_nr', generated: false });
  });

  test('a key column that is not integers is refused, with the way out', () => {
    expect(() => planLoad(file(['id'], ['text']), { table: 't', key: 'id' })).toThrow(
      /--key: column "id" holds text values, but a key must be integers .*--key row_id/,
    );
  });

  test('--types override inferred types, by SQL name or header; unknown names list the columns', () => {
    const plan = planLoad(file(['Zip Code', 'n'], ['bigint', 'bigint']), { table: 't', key: 'id', types: { 'Zip Code': 'text', n: 'integer' } });
    expect(plan.columns.map((c) => c.type)).toEqual(['bigint', 'text', 'integer']);
    expect(() => planLoad(file(['Zip Code'], ['bigint']), { table: 't', key: 'id', types: { zipcode: 'text' } })).toThrow(
      '--types: the file has no column "zipcode"; its columns are: zip_code (“Zip Code”).',
    );
    expect(() => planLoad(file(['a'], ['bigint']), { table: 't', key: 'id', types: { id: 'integer' } })).toThrow(/is the key pipewright adds/);
  });

  test('a column without a natural type needs one from --types', () => {
    expect(() => planLoad(file(['tags'], [undefined], ['Arrow type List<Int32>']), { table: 't', key: 'id' })).toThrow(
      'column "tags" has Arrow type List<Int32>, which pipewright cannot load as a column of its own; load it as text (a JSON rendering) with --types tags=text, or drop it from the file.',
    );
    expect(planLoad(file(['tags'], [undefined]), { table: 't', key: 'id', types: { tags: 'text' } }).columns[1]!.type).toBe('text');
  });

  test('NOT NULL columns', () => {
    const plan = planLoad(file(['date', 'v'], ['timestamp', 'bigint']), { table: 't', key: 'id', notNull: ['date'] });
    expect(createTableSql(plan)).toBe('CREATE TABLE "t" ("id" bigint, "date" timestamp NOT NULL, "v" bigint)');
  });

  test('a key pipewright adds must be a plain identifier', () => {
    expect(() => planLoad(file(['a'], ['text']), { table: 't', key: 'row id' })).toThrow(
      /--key: the file has no column "row id", and a key column pipewright adds needs a plain SQL identifier/,
    );
  });
});
