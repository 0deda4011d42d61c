import { decodeOutputs, type Prediction } from '../features/label-task';
import { BadRequestError } from './bad-request';

/** A row the version could not answer with a finite value: a 400 for the client, and the version's fault in a rollout's error count. */
export class ModelOutputError extends BadRequestError {}
import { encodeRowCodes, instanceFields } from './instances';
import type { RowSource } from './row-source';
import type { LoadedModel } from './served-models';

/**
 * Encodes a request's rows with the version's fitted transform, runs them through its batcher, and
 * decodes the outputs into predictions. A row whose output is not finite (values the transform
 * accepted but the network overflows on) is refused by row, never answered with null.
 */
export async function predictRows(loaded: LoadedModel, source: RowSource): Promise<Prediction[]> {
  const { codes, rows } = encodeRowCodes(loaded.transform, source);
  const outputs = await loaded.predict(codes, rows);
  const units = loaded.head.units;
  for (let i = 0; i < outputs.length; i++) {
    if (!Number.isFinite(outputs[i]!)) {
      const row = Math.floor(i / units);
      throw new ModelOutputError(`row ${row} gives no finite prediction: its values lie too far outside those the model was trained on; check their units`);
    }
  }
  return decodeOutputs(loaded.transform, outputs, rows, units);
}

/** The rows as the client sent them, one object per row keyed by field, for the prediction log. */
export function rowRecords(loaded: LoadedModel, source: RowSource): Array<Record<string, unknown>> {
  const fields = instanceFields(loaded.transform).map((f) => f.field);
  const records: Array<Record<string, unknown>> = [];
  for (let row = 0; row < source.rows; row++) {
    const record: Record<string, unknown> = {};
    for (const field of fields) {
      const value = source.value(row, field);
      if (value !== undefined) record[field] = value;
    }
    records.push(record);
  }
  return records;
}
