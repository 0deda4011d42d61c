import { mulberry32, shuffleInPlace } from '../../lib/random';
import { groupShards, type ShardWeight } from '../../lib/training/shard-groups';

const shards = (rows: number[]): ShardWeight[] => rows.map((trainRows, partition) => ({ partition, trainRows }));
const rowsOf = (group: number[], all: ShardWeight[]): number => group.reduce((n, p) => n + all.find((s) => s.partition === p)!.trainRows, 0);

describe('groupShards', () => {
  test('equal shards: round-robin by partition, each group sorted, groups ordered by first partition', () => {
    expect(groupShards(shards([100, 100, 100, 100]), 2)).toEqual([
      [0, 2],
      [1, 3],
    ]);
    expect(groupShards(shards([100, 100, 100, 100, 100]), 3)).toEqual([[0, 3], [1, 4], [2]]);
  });

  test('the largest shard goes to the lightest group (longest processing time first)', () => {
    // 300 alone; the others (100 + 100 + 50 + 50) together.
    expect(groupShards(shards([50, 300, 100, 100, 50]), 2)).toEqual([[0, 2, 3, 4], [1]]);
  });

  test('one worker: every shard in one group', () => {
    expect(groupShards(shards([5, 1, 9]), 1)).toEqual([[0, 1, 2]]);
  });

  test('more workers than shards: one shard per group, no empty group', () => {
    expect(groupShards(shards([10, 20, 30]), 8)).toEqual([[0], [1], [2]]);
    expect(groupShards([], 4)).toEqual([]);
  });

  test('shards without train rows never make a group of their own', () => {
    expect(groupShards(shards([0, 100]), 2)).toEqual([[1]]);
    expect(groupShards(shards([0, 0, 0]), 2)).toEqual([]);
  });

  test('for many random shard sets: every shard with rows once, no empty group, balanced within the largest shard, independent of input order', () => {
    const random = mulberry32(42);
    for (let trial = 0; trial < 500; trial++) {
      const count = 1 + Math.floor(random() * 40);
      const workers = 1 + Math.floor(random() * 12);
      // Skewed sizes, now and then an empty shard; partitions not contiguous.
      const all: ShardWeight[] = Array.from({ length: count }, (_, i) => ({
        partition: i * 3 + 1,
        trainRows: random() < 0.05 ? 0 : Math.floor(random() ** 3 * 10_000),
      }));
      const withRows = all.filter((s) => s.trainRows > 0);
      const groups = groupShards(all, workers);
      const what = `trial ${trial}: ${JSON.stringify(all)} over ${workers}: ${JSON.stringify(groups)}`;

      if (groups.length !== Math.min(workers, withRows.length)) throw new Error(`group count, ${what}`);
      const placed = groups.flat();
      for (const s of withRows) if (placed.filter((p) => p === s.partition).length !== 1) throw new Error(`partition ${s.partition} not placed once, ${what}`);
      if (new Set(placed).size !== placed.length) throw new Error(`a partition in two groups, ${what}`);
      for (const g of groups) {
        if (g.length === 0 || rowsOf(g, all) === 0) throw new Error(`an empty group, ${what}`);
        if (g.some((p, i) => i > 0 && p <= g[i - 1]!)) throw new Error(`a group not sorted, ${what}`);
      }
      if (groups.some((g, i) => i > 0 && g[0]! <= groups[i - 1]![0]!)) throw new Error(`groups not ordered, ${what}`);
      if (groups.length > 0) {
        const loads = groups.map((g) => rowsOf(g, all));
        const largest = Math.max(...all.map((s) => s.trainRows));
        if (Math.max(...loads) - Math.min(...loads) > largest) throw new Error(`unbalanced ${loads.join(',')} (largest shard ${largest}), ${what}`);
      }

      // A pure function of the shards: another input order, the same groups.
      const shuffled = [...all];
      shuffleInPlace(shuffled, mulberry32(trial));
      expect(groupShards(shuffled, workers)).toEqual(groups);
    }
  });

  test('ties between equal shards are broken by partition, so equal inputs give equal groups', () => {
    const a = groupShards(shards([7, 7, 7, 7, 7, 7]), 4);
    expect(a).toEqual([[0, 4], [1, 5], [2], [3]]);
    expect(groupShards([...shards([7, 7, 7, 7, 7, 7])].reverse(), 4)).toEqual(a);
  });

  test('a worker count that is not a positive integer is refused', () => {
    expect(() => groupShards(shards([1, 2]), 0)).toThrow(RangeError);
    expect(() => groupShards(shards([1, 2]), 1.5)).toThrow(/positive integer/);
  });
});
