import { Field, Float32, Schema, Type, makeVector, type Data, type Float64, type RecordBatch, type Utf8 } from 'apache-arrow';
import { localArtifactPath, openArtifactStore, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { ShardWriter, readShardBatches } from '../data/arrow-shards';
import { PipelineInputError } from '../errors';
import type { EncodedShardRef, ShardRef, TransformRef } from '../../contracts/refs';
import { RowSplitter } from './row-splitter';
import { SPLIT_CODE, type SplitName } from './split';
import { taskOf } from './label-task';
import { LabelEncoder } from './label-encoder';
import { FeatureEncoder } from './feature-encoder';
import { readTransform, type FittedFeature, type FittedMulticlassLabel, type FittedTransform, type FittedTransformV2 } from './transform-format';
import { Utf8Interner } from './utf8-interner';

export interface ApplyTransformTask {
  artifactStore: ArtifactStoreSettings;
  transform: TransformRef;
  shard: ShardRef;
}

/** Column names of an encoded shard. */
export const ENCODED_LABEL = 'label';
export const ENCODED_SPLIT = 'is_test';
export const encodedFeatureColumn = (name: string): string => `f_${name}`;

/** label, is_test, then one Float32 code column per feature, all non-null (see FeatureEncoder for the codes). */
/** Rows per record batch of an encoded shard. */
export const ENCODED_BLOCK_ROWS = 8192;

export function encodedSchema(transform: FittedTransform): Schema {
  const names = [ENCODED_LABEL, ENCODED_SPLIT, ...transform.features.map((f) => encodedFeatureColumn(f.name))];
  return new Schema(names.map((name) => new Field(name, new Float32(), false)));
}

/**
 * Encodes one raw shard with the fitted transform: per row, the label (0/1, the class index, or the
 * standardised value: see FittedLabel), the split flag and
 * one code per feature. Deterministic, so re-running yields the same artifact. Memory is one batch.
 */
export async function applyTransform(input: ApplyTransformTask, progress: (rows: number) => void): Promise<EncodedShardRef> {
  const transform = await readTransform(input.transform);
  const encoder = new FeatureEncoder(transform);
  let trainRows = 0;
  let testRows = 0;
  let validationRows = 0;
  // A cross-validation fold's outer test rows: encoded (code 3) but counted in none of the splits.
  let excludedRows = 0;
  const splitter = new RowSplitter(transform.key, transform.label, transform.split);
  // Categorical values are interned per shard: few distinct values, many rows, so each is looked up once.
  const categorical = transform.features.map((f) => (f.kind === 'categorical' ? { interner: new Utf8Interner(), codeOfId: [] as number[] } : null));
  let ids = new Int32Array(0);
  const labels = new LabelEncoder(transform.label);
  const multiclass = taskOf(transform.label) === 'multiclass';
  const ref = await openArtifactStore(input.artifactStore).putFile('encoded', '.arrows', async (tmp) => {
    const writer = new ShardWriter(tmp, encodedSchema(transform));
    for await (const batch of readShardBatches(await localArtifactPath(input.shard.uri))) {
      const n = batch.numRows;
      const keys = batch.getChild(transform.key)!.toArray() as Float64Array;
      const labelColumn = batch.getChild(transform.label.column)!;
      const label = labels.encode(labelColumn.data[0]!, n);
      const splits = splitter.split(batch);
      if (multiclass) assertKnownClasses(label, splits, labelColumn.data[0]!, keys, transform);
      const isTest = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        const code = splits[r]!;
        isTest[r] = code;
        if (code === SPLIT_CODE.train) trainRows++;
        else if (code === SPLIT_CODE.test) testRows++;
        else if (code === SPLIT_CODE.validation) validationRows++;
        else excludedRows++;
      }
      const columns: Float32Array[] = [label, isTest];
      transform.features.forEach((f, i) => {
        const codes = new Float32Array(n);
        switch (f.kind) {
          case 'categorical': {
            // Encode each distinct value once, then map rows by interned id (-1: null, out of vocabulary).
            const { interner, codeOfId } = categorical[i]!;
            if (ids.length < n) ids = new Int32Array(n);
            interner.intern(utf8Data(batch, f.column), ids);
            for (let id = codeOfId.length; id < interner.values.length; id++) codeOfId.push(encoder.encodeCategory(i, interner.values[id]!));
            const nullCode = encoder.encodeCategory(i, null);
            for (let r = 0; r < n; r++) codes[r] = ids[r]! < 0 ? nullCode : codeOfId[ids[r]!]!;
            break;
          }
          case 'hashed':
            encoder.encodeHashedColumn(i, utf8Data(batch, f.column), codes);
            break;
          case 'cross':
            encoder.encodeCrossColumns(
              i,
              f.columns.map((c) => utf8Data(batch, c)),
              codes,
            );
            break;
          default: {
            const data = batch.getChild(f.column)!.data[0] as Data<Float64>;
            encoder.encodeNumbers(i, data.values, data.nullCount > 0 ? data.nullBitmap : null, data.offset, n, codes);
            if (f.kind === 'numeric' && f.log1p) assertLog1pDomain(f, codes, data, keys, transform.key);
          }
        }
        columns.push(codes);
      });
      // Small record batches: training reads blocks in a shuffled order (shuffled-batches.ts), and
      // a block of a day's rows mixes better than one of a week's.
      for (let start = 0; start < n; start += ENCODED_BLOCK_ROWS) {
        const end = Math.min(n, start + ENCODED_BLOCK_ROWS);
        writer.write(
          columns.map((c) => makeVector(c.subarray(start, end)).data[0]!),
          end - start,
        );
      }
      progress(trainRows + testRows + validationRows + excludedRows);
    }
    await writer.close();
  });
  return { ...ref, partition: input.shard.partition, trainRows, testRows, ...(validationRows > 0 ? { validationRows } : {}) };
}

function utf8Data(batch: RecordBatch, column: string): Data<Utf8> {
  return batch.getChild(column)!.data[0] as Data<Utf8>;
}

/**
 * The fit refused train values that log1p cannot take; a row outside the train split (or one
 * the clip does not lift above -1) can still hold one. Encoding it as NaN would poison training
 * and evaluation silently, so the stage fails naming the row and the fix.
 */
function assertLog1pDomain(f: Extract<FittedFeature, { kind: 'numeric' }>, codes: Float32Array, data: Data<Float64>, keys: Float64Array, key: string): void {
  for (let r = 0; r < codes.length; r++) {
    if (Number.isFinite(codes[r]!)) continue;
    throw new PipelineInputError(
      `feature "${f.name}": log1p needs values greater than -1, but column "${f.column}" holds ${data.values[r]} in the row with ${key} = ${keys[r]}; ` +
        'add "clip": {"min": 0} (or another bound above -1) to the feature, or drop log1p',
    );
  }
}

/**
 * A multiclass label's classes come from the train split ("auto") or the spec (ingest quarantines
 * other values), so a held-out row can still hold a value the model has no output for. Scoring it
 * as any class would be wrong silently, so the stage fails naming the value, the row and the fixes.
 */
function assertKnownClasses(label: Float32Array, splits: Uint8Array, column: Data, keys: Float64Array, transform: FittedTransformV2): void {
  for (let r = 0; r < label.length; r++) {
    if (label[r]! >= 0) continue;
    const raw: unknown = column.typeId === Type.Utf8 ? makeVector(column).get(r) : (column as Data<Float64>).values[r];
    const split = (Object.keys(SPLIT_CODE) as SplitName[]).find((name) => SPLIT_CODE[name] === splits[r]) ?? 'held-out';
    const classes = (transform.label as FittedMulticlassLabel).classes;
    throw new PipelineInputError(
      `label.column "${transform.label.column}": the ${split} row with ${transform.key} = ${keys[r]} has the class ${JSON.stringify(raw)}, ` +
        `which the train split never has, so the model has no output for it (it knows ${classes.length} classes); ` +
        'list the classes in label.classes (rows with other values are then quarantined at ingest), or set split.stratify to true so that every class has train rows',
    );
  }
}
