import { ident } from '../db/sql';
import type { Partition } from './partitions';
import type { SourceSchema } from './source-schema';

/** The bucket of a hash partition; NULLs hash as the empty string so that no row falls outside every bucket. */
export function hashBucketOf(column: string, buckets: number): string {
  return `(hashtext(coalesce(${ident(column)}::text, '')) & 2147483647) % ${int(buckets)}`;
}

/** A bound interpolated into SQL: refuses anything but an integer, whatever the payload held. */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`partition bound ${n} is not an integer`);
  return String(n);
}

/**
 * The SELECT one ingest activity runs for its partition, in an order that makes the shard
 * byte-identical on every run: by key for key ranges, by row hash for hash buckets, and physical
 * order for block ranges (a TID range scan reads its blocks in order and never joins a
 * synchronised scan).
 */
export function partitionSelect(schema: SourceSchema, partition: Partition): string {
  const select = `SELECT ${schema.columns.map((c) => c.select).join(', ')} FROM ${schema.from}`;
  switch (partition.kind) {
    case 'keyRange': {
      if (schema.key === undefined) throw new Error('a key range needs a source key');
      const key = ident(schema.key);
      return `${select} WHERE ${key} >= ${int(partition.lo)} AND ${key} < ${int(partition.hi)} ORDER BY ${key}`;
    }
    case 'blockRange':
      return `${select} WHERE ctid >= '(${int(partition.lo)},0)'::tid AND ctid < '(${int(partition.hi)},0)'::tid`;
    case 'fileRange':
      throw new Error('a file range is read from its files, not with SQL');
    case 'hashBucket':
      if (partition.of === 1) return `${select} ORDER BY 1`;
      return `${select} WHERE ${hashBucketOf(partition.column, partition.of)} = ${int(partition.partition)} ORDER BY 1`;
  }
}
