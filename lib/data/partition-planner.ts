import type { Pool, PoolClient } from 'pg';
import { PipelineInputError } from '../errors';
import { ident } from '../db/sql';
import type { PostgresSourceSpec } from '../spec/pipeline-spec';
import { keyRangesAtCuts, planBlockRanges, planHashBuckets, planKeyRanges, quantileRanks, type Partition } from './partitions';
import { asSourceError } from './source-errors';
import type { SourceSchema } from './source-schema';

export interface PartitionPlan {
  partitions: Partition[];
  /** Rows the partitions hold together. */
  rows: number;
}

/** Above this many rows a keyed table's quantiles come from a sample instead of a sort of every key. */
const EXACT_QUANTILE_ROWS = 10_000_000;
const SAMPLE_ROWS = 1_000_000;

async function inReadOnly<T>(pool: Pool, schema: SourceSchema, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN READ ONLY');
    // The quantile sort of millions of keys stays in memory instead of spilling to disk.
    await client.query(`SET LOCAL work_mem = '256MB'`);
    return await body(client);
  } catch (err) {
    throw asSourceError(err, schema.name);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

function emptySource(schema: SourceSchema): PipelineInputError {
  return new PipelineInputError(`source: ${schema.name} has no rows; load data into it first (pipewright load <file> --table NAME).`);
}

/** Whether a single-column unique index (a primary key, say) guarantees the key has no duplicates. */
async function keyIsUnique(client: PoolClient, source: PostgresSourceSpec, key: string): Promise<boolean> {
  if (source.table === undefined) return false;
  const { rows } = await client.query<{ unique: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attname = $2
     ) AS unique`,
    [source.table, key],
  );
  return rows[0]!.unique;
}

/**
 * Key ranges at the key's quantiles: each partition gets the same number of rows (within one) however
 * the keys are spread. A dense unique key (every integer from min to max, once) is cut by arithmetic;
 * otherwise one sort finds the exact cut points, or, above EXACT_QUANTILE_ROWS rows of a table with a
 * unique key, a seeded Bernoulli sample does. Also refuses NULL and duplicate keys: the key is each row's
 * identity for the train/test split, and a NULL key would be in no range.
 */
async function planKeyPartitions(client: PoolClient, source: PostgresSourceSpec, schema: SourceSchema, key: string, count: number): Promise<PartitionPlan> {
  const k = ident(key);
  const limited = source.limit === undefined ? schema.from : `(SELECT ${k} FROM ${schema.from} ORDER BY ${k} LIMIT ${Number(source.limit)}) AS limited`;
  const bounds = await client.query<{ lo: string | null; hi: string | null; n: string; nulls: string }>(
    `SELECT min(${k})::text AS lo, max(${k})::text AS hi, count(*)::text AS n, (count(*) - count(${k}))::text AS nulls FROM ${limited}`,
  );
  const { lo, hi, n, nulls } = bounds.rows[0]!;
  const rows = Number(n);
  if (rows === 0 || lo === null || hi === null) throw emptySource(schema);
  if (Number(nulls) > 0) {
    throw new PipelineInputError(
      `source.key: ${nulls} rows of ${schema.name} have a NULL "${key}", and a row without a key is in no partition; fill the key, or drop source.key to split by blocks.`,
    );
  }
  const min = Number(lo);
  const max = Number(hi);
  const unique = await keyIsUnique(client, source, key);
  if (unique && max - min + 1 === rows) return { partitions: planKeyRanges(min, max, count), rows };

  const sampled = unique && source.limit === undefined && source.table !== undefined && rows > EXACT_QUANTILE_ROWS;
  const from = sampled ? `${schema.from} TABLESAMPLE BERNOULLI (${(100 * SAMPLE_ROWS) / rows}) REPEATABLE (0)` : limited;
  // percentile_disc(f) is the value at 1-based position ceil(f * rows); half a row below the wanted rank is robust to rounding.
  const fractions = sampled ? Array.from({ length: count - 1 }, (_, i) => (i + 1) / count) : quantileRanks(rows, count).map((r) => (r + 0.5) / rows);
  const { rows: found } = await client.query<{ cuts: string[] | null; distinct: string | null }>(
    `SELECT (percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY ${k}))::text[] AS cuts, ${unique ? 'NULL' : `count(DISTINCT ${k})::text`} AS distinct FROM ${from}`,
    [fractions],
  );
  const { cuts, distinct } = found[0]!;
  if (distinct !== null && Number(distinct) < rows) {
    const { rows: dup } = await client.query<{ key: string; n: string }>(
      `SELECT ${k}::text AS key, count(*)::text AS n FROM ${limited} GROUP BY ${k} HAVING count(*) > 1 ORDER BY count(*) DESC, ${k} LIMIT 1`,
    );
    throw new PipelineInputError(
      `source.key: "${key}" is not unique in ${schema.name} (${rows - Number(distinct)} duplicate rows; ${key} = ${dup[0]?.key} appears ${dup[0]?.n} times). ` +
        'The key identifies each row for the train/test split: name a unique integer column, or drop source.key to split by blocks.',
    );
  }
  return { partitions: keyRangesAtCuts(min, (cuts ?? []).map(Number), max), rows };
}

/** A table without a key: equal runs of heap blocks, read by TID range scans. */
async function planBlockPartitions(client: PoolClient, table: string, schema: SourceSchema, count: number): Promise<PartitionPlan> {
  const { rows: rel } = await client.query<{ relkind: string; blocks: string }>(
    `SELECT relkind::text, (pg_relation_size(oid) / current_setting('block_size')::int)::text AS blocks FROM pg_class WHERE oid = to_regclass(quote_ident($1))`,
    [table],
  );
  const relkind = rel[0]?.relkind;
  if (relkind !== 'r' && relkind !== 'm') {
    throw new PipelineInputError(
      `source.table: "${table}" is not a plain table (it is a view or partitioned), so it cannot be split by blocks; name an integer source.key or a source.hashColumn.`,
    );
  }
  const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema.from}`);
  const rows = Number(counted[0]!.n);
  if (rows === 0) throw emptySource(schema);
  return { partitions: planBlockRanges(Number(rel[0]!.blocks), count), rows };
}

/** Cuts the source into `source.partitions` partitions of about equal work, the way its spec asks. */
export async function planPartitions(pool: Pool, source: PostgresSourceSpec, schema: SourceSchema): Promise<PartitionPlan> {
  return inReadOnly(pool, schema, async (client) => {
    if (source.key !== undefined) return planKeyPartitions(client, source, schema, source.key, source.partitions);
    if (source.hashColumn === undefined && source.table !== undefined) return planBlockPartitions(client, source.table, schema, source.partitions);
    const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema.from}`);
    const rows = Number(counted[0]!.n);
    if (rows === 0) throw emptySource(schema);
    // A query with neither a key nor a hash column is read whole, as one bucket (the spec allows it only with partitions = 1).
    const hashColumn = source.hashColumn ?? schema.columns[1]!.name;
    return { partitions: planHashBuckets(hashColumn, source.hashColumn === undefined ? 1 : source.partitions), rows };
  });
}
