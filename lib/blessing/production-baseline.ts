import type { Pool } from 'pg';
import type { DatasetRef, ModelRef, TransformRef } from '../../contracts/refs';
import type { ProductionBaseline } from '../../contracts/evaluation';
import { localArtifactPath } from '../artifacts/artifact-store';
import { readShardBatches } from '../data/arrow-shards';
import { fittedColumns, readTransform, type FittedLabel, type FittedTransformV2 } from '../features/transform-format';
import { productionVersion } from '../registry/model-registry';

/** The production version to compare a candidate with; or why its figures would not be comparable; or none (a first model). */
export type BaselineLookup = { comparable: ProductionBaseline } | { incomparable: { version: number; reason: string } } | { none: true };

/**
 * Finds the production version of `name` and checks that it can be measured on this run's test
 * rows: every column its transform reads must be in the dataset, and it must predict the same
 * label (same column, task and definition), or its figures would answer another question.
 */
export async function findProductionBaseline(pool: Pool, name: string, dataset: DatasetRef, candidate: TransformRef): Promise<BaselineLookup> {
  const row = await productionVersion(pool, name);
  if (!row) return { none: true };
  const transform: TransformRef = { uri: row.transformUri, sha256: row.transformSha256, bytes: 0, inputDim: 0, trainRows: 0 };
  const current = await readTransform(candidate);
  let baseline: FittedTransformV2;
  try {
    baseline = await readTransform(transform);
  } catch (err) {
    // Its artifacts were removed (or the store moved): it cannot be scored, which is not this run's failure.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { incomparable: { version: row.version, reason: `its transform ${row.transformUri} is gone from the artifact store` } };
    throw err;
  }
  const reason = (await missingColumns(baseline, dataset)) ?? labelDifference(baseline.label, current.label);
  if (reason) return { incomparable: { version: row.version, reason } };
  const model: ModelRef = {
    uri: row.modelUri,
    sha256: row.modelSha256,
    bytes: 0,
    backend: row.backend,
    epochs: 0,
    trainSamples: 0,
    trainSeconds: 0,
    finalLoss: 0,
  };
  return { comparable: { version: row.version, model, transform: { ...transform, inputDim: baseline.inputDim, trainRows: baseline.trainRows } } };
}

/** The first column the baseline's transform reads that the dataset's shards lack, as a reason; undefined when all are there. */
async function missingColumns(transform: FittedTransformV2, dataset: DatasetRef): Promise<string | undefined> {
  const first = dataset.shards[0];
  if (!first) return 'the dataset has no shards';
  let columns: Set<string> | undefined;
  for await (const batch of readShardBatches(await localArtifactPath(first.uri))) {
    columns = new Set(batch.schema.fields.map((f) => f.name));
    break;
  }
  if (!columns) return undefined; // an empty shard: nothing to score, nothing missing
  const needed = [
    transform.key,
    transform.label.column,
    ...transform.features.flatMap(fittedColumns),
    ...(transform.split.time ? [transform.split.time.column] : []),
  ];
  const missing = needed.find((c) => !columns!.has(c));
  return missing === undefined ? undefined : `it reads column "${missing}", which this run's dataset does not have`;
}

/** Why two fitted labels answer different questions; undefined when they are the same label. */
function labelDifference(baseline: FittedLabel, candidate: FittedLabel): string | undefined {
  const definition = (l: FittedLabel): string => {
    if (!('task' in l)) return JSON.stringify(l); // a binary rule: its column and greaterThan or oneOf
    if (l.task === 'multiclass') return JSON.stringify({ column: l.column, task: l.task, classes: l.classes });
    return JSON.stringify({ column: l.column, task: l.task });
  };
  const [a, b] = [definition(baseline), definition(candidate)];
  return a === b ? undefined : `it predicts another label (${a}, this run ${b})`;
}
