/**
 * How an epoch is spread over data-parallel workers: shards go to groups of near-equal train rows,
 * and each group's batches are cut into rounds (weights are averaged after every round).
 */

export interface ShardWeight {
  partition: number;
  trainRows: number;
}

/**
 * Splits shards into `workers` groups of near-equal train rows (longest-processing-time first:
 * the largest shard goes to the lightest group; ties by partition, so the grouping is a pure
 * function of the shards). Returns partition numbers per group, each sorted; empty groups are
 * dropped, so there are never more groups than shards with train rows.
 */
export function groupShards(shards: readonly ShardWeight[], workers: number): number[][] {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  const sorted = [...shards].sort((a, b) => b.trainRows - a.trainRows || a.partition - b.partition);
  const groups = Array.from({ length: Math.min(workers, sorted.length) }, () => ({ rows: 0, partitions: [] as number[] }));
  for (const shard of sorted) {
    let lightest = groups[0]!;
    for (const g of groups) if (g.rows < lightest.rows) lightest = g;
    lightest.partitions.push(shard.partition);
    lightest.rows += shard.trainRows;
  }
  return groups
    .filter((g) => g.rows > 0)
    .map((g) => g.partitions.sort((a, b) => a - b))
    .sort((a, b) => a[0]! - b[0]!);
}
