import { readShardBatches } from '../../lib/data/arrow-shards';
import { indexShardBlocks, openShardBlocks, readShardBlock } from '../../lib/data/shard-blocks';
import { localArtifactPath } from '../../lib/artifacts/artifact-store';
import { everyKindTransform, writeEncodedShards } from './fixtures/encoded-shards';

test('every block of a shard reads on its own, in any order, as the stream reader gives it', async () => {
  const transform = everyKindTransform();
  const written = await writeEncodedShards(transform, [[5, 300, 1, 77]], 3);
  const file = await localArtifactPath(written.shards[0]!.uri);
  const index = await indexShardBlocks(file);
  expect(index.blocks).toHaveLength(4);
  const sequential = [];
  for await (const batch of readShardBatches(file)) sequential.push(batch);
  for (const i of [3, 0, 2, 1]) {
    const block = await readShardBlock(index, i);
    expect(block.numRows).toBe(sequential[i]!.numRows);
    for (let c = 0; c < block.numCols; c++)
      expect(Array.from(block.getChildAt(c)!.toArray() as Float32Array)).toEqual(Array.from(sequential[i]!.getChildAt(c)!.toArray() as Float32Array));
  }
  await expect(readShardBlock(index, 4)).rejects.toThrow('has 4 blocks, not 5');
  // Kept open for many reads: the same blocks.
  const open = await openShardBlocks(file);
  try {
    expect((await open.read(2)).numRows).toBe(1);
    expect((await open.read(1)).numRows).toBe(300);
  } finally {
    await open.close();
  }
});
