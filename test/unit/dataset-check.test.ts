import { createHash } from 'node:crypto';
import type { ShardRef } from '../../contracts';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { checkDataset } from '../../lib/validation/dataset-check';
import flights from '../../examples/flights.json';

const spec = (maxBadRowFraction: number) => parsePipelineSpec({ ...flights, quarantine: { maxBadRowFraction } });
const shard = (partition: number, rows: number, quarantinedRows = 0): ShardRef => ({
  uri: `file:///a/${partition}.arrow`,
  sha256: `${partition}`.repeat(64).slice(0, 64),
  bytes: 100,
  partition,
  rows,
  quarantinedRows,
  statistics: { uri: `file:///s/${partition}.json`, sha256: 's', bytes: 1 },
  ...(quarantinedRows ? { quarantine: { uri: `file:///q/${partition}.ndjson`, sha256: 'q', bytes: 1 } } : {}),
});

describe('checkDataset', () => {
  test('counts rows, orders shards by partition and hashes them in that order', () => {
    const dataset = checkDataset(spec(0.01), [shard(2, 30), shard(0, 10), shard(1, 20)]);
    expect(dataset.shards.map((s) => s.partition)).toEqual([0, 1, 2]);
    expect(dataset.rows).toBe(60);
    expect(dataset.quarantinedRows).toBe(0);
    const expected = createHash('sha256')
      .update([0, 1, 2].map((p) => shard(p, 0).sha256).join('\n'))
      .digest('hex');
    expect(dataset.sha256).toBe(expected);
    expect(checkDataset(spec(0.01), [shard(0, 10), shard(1, 20), shard(2, 30)]).sha256).toBe(expected);
    expect(dataset.source).toBe(flights.source.table);
  });

  test('tolerates quarantined rows up to the threshold', () => {
    expect(checkDataset(spec(0.1), [shard(0, 90, 10)]).quarantinedRows).toBe(10);
  });

  test('over the threshold: a user mistake naming the count, the threshold and the quarantine files', () => {
    expect(() => checkDataset(spec(0.001), [shard(0, 4950, 50), shard(1, 5000)])).toThrow(
      /^50 of 10000 rows \(0\.50%\) are malformed, over quarantine\.maxBadRowFraction=0\.001\. The rows and reasons are in: file:\/\/\/q\/0\.ndjson\. /,
    );
    let thrown: unknown;
    try {
      checkDataset(spec(0.001), [shard(0, 1, 1)]);
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error | undefined)?.name).toBe('PipelineInputError');
  });

  test('an empty source is a user mistake', () => {
    expect(() => checkDataset(spec(0.01), [shard(0, 0)])).toThrow(`source: ${flights.source.table} returned no rows to train on.`);
  });
});
