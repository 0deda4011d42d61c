import type { EncodedShardRef, ShardRef, TransformRef } from '../contracts/refs';
import type { Partition } from '../lib/data/partitions';
import type { SourceSchema } from '../lib/data/source-schema';
import type { PipelineSpec } from '../lib/spec/pipeline-spec';
import { ingest, rawCopy, warmIngestThreads } from './data-plane-pg';
import { apply, fit, warmApplyThreads, warmFitThread } from './data-plane-transform';
import { measure, peakRssMiB } from './data-plane-util';
import { duckdbTransforms, type DuckDbTransformResult, type MirroredSpec } from './duckdb-transforms';

/**
 * One measured step of the data-plane benchmark, in a process of its own so that its peak RSS is
 * its own (not the table's size before it, nor another step's heap): `node
 * dist/bench/data-plane-worker.js '<StepRequest as JSON>'` prints one line `RESULT <StepResult as
 * JSON>` and exits.
 */
export type StepRequest =
  | { step: 'copy'; databaseUrl: string; schema: SourceSchema; ranges: Partition[]; format: 'text' | 'binary' }
  | { step: 'ingest'; databaseUrl: string; artifactRoot: string; schema: SourceSchema; ranges: Partition[]; concurrency: number }
  | { step: 'fit'; artifactRoot: string; spec: PipelineSpec; shards: ShardRef[] }
  | { step: 'apply'; artifactRoot: string; transform: TransformRef; shards: ShardRef[]; concurrency: number }
  | { step: 'duckdb'; parquet: string; copies: number; threads: number; spec: MirroredSpec };

export interface StepResult {
  /** Wall and CPU (all threads of the process) seconds of the measured work only. */
  seconds: number;
  cpuSeconds: number;
  /** Peak RSS of the whole process, start-up and warm-up included. */
  peakRssMiB: number;
  bytes?: number;
  shards?: ShardRef[];
  transform?: TransformRef;
  encoded?: EncodedShardRef[];
  duckdb?: DuckDbTransformResult;
}

export const RESULT_PREFIX = 'RESULT ';

async function runStep(request: StepRequest): Promise<StepResult> {
  switch (request.step) {
    case 'copy': {
      const m = await measure(() => rawCopy(request.databaseUrl, request.schema, request.ranges, request.format));
      return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: peakRssMiB(), bytes: m.value };
    }
    case 'ingest': {
      await warmIngestThreads(request.databaseUrl, request.artifactRoot, request.schema, request.concurrency);
      const m = await measure(() => ingest(request.databaseUrl, request.artifactRoot, request.schema, request.ranges, request.concurrency));
      return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: peakRssMiB(), shards: m.value };
    }
    case 'fit': {
      await warmFitThread(request.artifactRoot, request.spec);
      const m = await measure(() => fit(request.artifactRoot, request.spec, request.shards));
      return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: peakRssMiB(), transform: m.value };
    }
    case 'apply': {
      await warmApplyThreads(request.artifactRoot, request.transform, request.shards[0]!, request.concurrency);
      const m = await measure(() => apply(request.artifactRoot, request.transform, request.shards, request.concurrency));
      return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: peakRssMiB(), encoded: m.value };
    }
    case 'duckdb': {
      const duckdb = await duckdbTransforms(request.parquet, request.copies, request.threads, request.spec);
      const seconds = duckdb.fitSeconds + duckdb.applySeconds;
      return { seconds, cpuSeconds: duckdb.fitCpuSeconds + duckdb.applyCpuSeconds, peakRssMiB: peakRssMiB(), duckdb };
    }
  }
}

if (require.main === module) {
  runStep(JSON.parse(process.argv[2]!) as StepRequest).then(
    // Exit once the line is out: idle task threads and pools must not decide when the process ends.
    (result) => process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
