import { hashBucketOf, partitionSelect } from '../../lib/data/partition-sql';
import type { SourceSchema } from '../../lib/data/source-schema';

const keyed: SourceSchema = {
  name: 'trips',
  from: '"trips"',
  key: 'id',
  columns: [
    { name: 'id', kind: 'number', select: '"id"', wire: 'int8' },
    { name: 'fare', kind: 'number', select: '"fare"::float8', wire: 'float8' },
  ],
};
const keyless: SourceSchema = { name: 'query "SELECT ..."', from: '(SELECT * FROM trips) AS source', columns: keyed.columns.slice(1) };

describe('partitionSelect', () => {
  test('a key range reads [lo, hi) in key order', () => {
    expect(partitionSelect(keyed, { kind: 'keyRange', partition: 1, lo: 10, hi: 20 })).toBe(
      'SELECT "id", "fare"::float8 FROM "trips" WHERE "id" >= 10 AND "id" < 20 ORDER BY "id"',
    );
  });

  test('a block range is a TID range scan in physical order', () => {
    expect(partitionSelect(keyed, { kind: 'blockRange', partition: 0, lo: 0, hi: 5524 })).toBe(
      `SELECT "id", "fare"::float8 FROM "trips" WHERE ctid >= '(0,0)'::tid AND ctid < '(5524,0)'::tid`,
    );
  });

  test('a hash bucket filters on the bucket and orders by the row id; a single bucket reads everything', () => {
    expect(partitionSelect(keyless, { kind: 'hashBucket', partition: 2, of: 3, column: 'city' })).toBe(
      `SELECT "fare"::float8 FROM (SELECT * FROM trips) AS source WHERE (hashtext(coalesce("city"::text, '')) & 2147483647) % 3 = 2 ORDER BY 1`,
    );
    expect(partitionSelect(keyless, { kind: 'hashBucket', partition: 0, of: 1, column: 'city' })).toBe(
      'SELECT "fare"::float8 FROM (SELECT * FROM trips) AS source ORDER BY 1',
    );
  });

  test('refuses bounds that are not integers and identifiers that are not plain, whatever the payload held', () => {
    expect(() => partitionSelect(keyed, { kind: 'keyRange', partition: 0, lo: 0, hi: 1.5 })).toThrow('partition bound 1.5 is not an integer');
    expect(() => partitionSelect(keyed, { kind: 'blockRange', partition: 0, lo: Number.NaN, hi: 1 })).toThrow(/not an integer/);
    expect(() => hashBucketOf('city"; DROP TABLE trips; --', 2)).toThrow(/unsafe SQL identifier/);
    expect(() => partitionSelect(keyless, { kind: 'keyRange', partition: 0, lo: 0, hi: 1 })).toThrow('a key range needs a source key');
  });
});
