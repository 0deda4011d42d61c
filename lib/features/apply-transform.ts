import { Field, Float32, Schema, makeVector, type Data, type Utf8 } from 'apache-arrow';
import { ArtifactStore, artifactPath, readArtifactJson } from '../artifacts/artifact-store';
import { ShardWriter, readShardBatches } from '../data/arrow-shards';
import type { EncodedShardRef, ShardRef, TransformRef } from '../../contracts/refs';
import { isTestRow } from './split';
import { LabelEncoder } from './label-encoder';
import { FeatureEncoder, type FittedTransform } from './transform';
import { Utf8Interner } from './utf8-interner';

export interface ApplyTransformTask {
  artifactRoot: string;
  transform: TransformRef;
  shard: ShardRef;
}

/** Column names of an encoded shard. */
export const ENCODED_LABEL = 'label';
export const ENCODED_SPLIT = 'is_test';
export const encodedFeatureColumn = (name: string): string => `f_${name}`;

/** label, is_test, then one Float32 code column per feature, all non-null. */
export function encodedSchema(transform: FittedTransform): Schema {
  const names = [ENCODED_LABEL, ENCODED_SPLIT, ...transform.features.map((f) => encodedFeatureColumn(f.name))];
  return new Schema(names.map((name) => new Field(name, new Float32(), false)));
}

/**
 * Encodes one raw shard with the fitted transform: per row, the label (0/1), the split flag and
 * one code per feature. Deterministic, so re-running yields the same artifact.
 */
export async function applyTransform(input: ApplyTransformTask, progress: (rows: number) => void): Promise<EncodedShardRef> {
  const transform = await readArtifactJson<FittedTransform>(input.transform);
  const encoder = new FeatureEncoder(transform);
  let trainRows = 0;
  let testRows = 0;
  const categorical = transform.features.map((f) => (f.kind === 'categorical' ? { interner: new Utf8Interner(), codeOfId: [] as number[] } : null));
  let ids = new Int32Array(0);
  const labels = new LabelEncoder(transform.label);
  const ref = await new ArtifactStore(input.artifactRoot).putFile('encoded', '.arrows', async (tmp) => {
    const writer = new ShardWriter(tmp, encodedSchema(transform));
    for await (const batch of readShardBatches(artifactPath(input.shard.uri))) {
      const n = batch.numRows;
      const keys = batch.getChild(transform.key)!.toArray() as Float64Array;
      const label = labels.encode(batch.getChild(transform.label.column)!.data[0]!, n);
      const isTest = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        const test = isTestRow(keys[r]!, transform.split.seed, transform.split.testFraction);
        isTest[r] = test ? 1 : 0;
        if (test) testRows++;
        else trainRows++;
      }
      const columns: Data[] = [makeVector(label).data[0]!, makeVector(isTest).data[0]!];
      transform.features.forEach((f, i) => {
        const column = batch.getChild(f.column)!;
        const codes = new Float32Array(n);
        if (f.kind === 'categorical') {
          // Encode each distinct value once, then map rows by interned id (-1: null, out of vocabulary).
          const { interner, codeOfId } = categorical[i]!;
          if (ids.length < n) ids = new Int32Array(n);
          interner.intern(column.data[0] as Data<Utf8>, ids);
          for (let id = codeOfId.length; id < interner.values.length; id++) codeOfId.push(encoder.encodeCategory(i, interner.values[id]!));
          const nullCode = encoder.encodeCategory(i, null);
          for (let r = 0; r < n; r++) codes[r] = ids[r]! < 0 ? nullCode : codeOfId[ids[r]!]!;
        } else {
          const values = column.toArray() as Float64Array;
          for (let r = 0; r < n; r++) codes[r] = encoder.encodeNumber(i, values[r]!);
        }
        columns.push(makeVector(codes).data[0]!);
      });
      writer.write(columns, n);
      progress(trainRows + testRows);
    }
    await writer.close();
  });
  return { ...ref, partition: input.shard.partition, trainRows, testRows };
}
