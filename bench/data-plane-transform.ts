import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EncodedShardRef, ShardRef, TransformRef } from '../contracts/refs';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { runInThread } from '../lib/threads/run-in-thread';
import { inParallel } from './data-plane-util';
import { fileStoreSettings } from '../lib/artifacts/artifact-store';

/**
 * The pipeline's transform stage as the cpu pool runs it: fitTransform in one worker thread over
 * every raw shard, then applyTransform per shard in worker threads, `concurrency` at a time.
 */

/**
 * Starts the threads and loads the task's modules before the clock starts, as in a pool worker
 * that has run the task before: each call is handed input that fails at once, after the thread
 * has loaded the task (a failed task's thread is kept for reuse).
 */
async function warmThreads(count: number, start: () => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => start().catch(() => undefined)));
}

export async function warmFitThread(artifactRoot: string, spec: PipelineSpec): Promise<void> {
  // No shards: the fit refuses an empty train split.
  await warmThreads(1, () => runInThread('fitTransform', { artifactStore: fileStoreSettings(artifactRoot), spec, shards: [] }));
}

export async function warmApplyThreads(artifactRoot: string, transform: TransformRef, shard: ShardRef, concurrency: number): Promise<void> {
  // A shard that is not there: the apply fails on opening it.
  const missing: ShardRef = { ...shard, uri: pathToFileURL(path.join(artifactRoot, 'missing.arrows')).href };
  await warmThreads(concurrency, () => runInThread('applyTransform', { artifactStore: fileStoreSettings(artifactRoot), transform, shard: missing }));
}

export function fit(artifactRoot: string, spec: PipelineSpec, shards: ShardRef[]): Promise<TransformRef> {
  return runInThread('fitTransform', { artifactStore: fileStoreSettings(artifactRoot), spec, shards });
}

export function apply(artifactRoot: string, transform: TransformRef, shards: ShardRef[], concurrency: number): Promise<EncodedShardRef[]> {
  return inParallel(shards, concurrency, (shard) => runInThread('applyTransform', { artifactStore: fileStoreSettings(artifactRoot), transform, shard }));
}
