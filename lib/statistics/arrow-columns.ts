import { DataType, Precision, type Data, type RecordBatch, type Table, type Utf8, type Vector } from 'apache-arrow';

/** One chunk of a numeric column: values[0..length) with Arrow's validity bits (null where none are null). */
export interface NumberChunk {
  values: Float64Array;
  length: number;
  validity: Uint8Array | null;
  /** Bit index of row 0 in `validity` (a sliced chunk keeps its parent's bitmap). */
  bitOffset: number;
}

export function columnOf(input: RecordBatch | Table, name: string): Vector {
  const vector = input.getChild(name);
  if (vector === null) throw new Error(`column "${name}" is not in the batch (it has: ${input.schema.fields.map((f) => f.name).join(', ')})`);
  return vector;
}

/**
 * The chunks of a numeric column as Float64. Ingested shards hold Float64, read in place; other
 * integer and float widths, as CSV or Parquet readers may produce, are widened per chunk.
 */
export function numberChunks(vector: Vector, name: string): NumberChunk[] {
  const type: unknown = vector.type;
  const readable = DataType.isInt(type) || (DataType.isFloat(type) && type.precision !== Precision.HALF);
  if (!readable) throw new Error(`column "${name}" must be an integer or Float32/Float64 column for numeric statistics, found ${String(type)}`);
  return vector.data.map((data: Data): NumberChunk => {
    const raw: unknown = data.values;
    let values: Float64Array;
    if (raw instanceof Float64Array) values = raw;
    else if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) values = Float64Array.from(raw.subarray(0, data.length), Number);
    else values = Float64Array.from((raw as Int32Array).subarray(0, data.length));
    return { values, length: data.length, validity: data.nullCount > 0 ? data.nullBitmap : null, bitOffset: data.offset };
  });
}

export function utf8Chunks(vector: Vector, name: string): Array<Data<Utf8>> {
  if (!DataType.isUtf8(vector.type)) throw new Error(`column "${name}" must be Utf8 for text statistics, found ${String(vector.type)}`);
  return vector.data as Array<Data<Utf8>>;
}
