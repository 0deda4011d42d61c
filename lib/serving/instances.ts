import { FeatureEncoder, fittedColumns, upgradeTransform, type FittedTransform } from '../features/transform';
import { BadRequestError } from './bad-request';
import { describeValue } from './describe-value';
import { instanceRows, type RowSource } from './row-source';

export { BadRequestError } from './bad-request';

export type InstanceFieldType = 'number' | 'string' | 'timestamp';

/** How a feature reads its raw fields. */
function fieldType(kind: FittedTransform['features'][number]['kind']): InstanceFieldType {
  switch (kind) {
    case 'numeric':
    case 'quantileBuckets':
      return 'number';
    case 'categorical':
    case 'hashed':
    case 'cross':
      return 'string';
    case 'hourOfDay':
    case 'dayOfWeek':
    case 'timestamp':
      return 'timestamp';
  }
}

/**
 * The raw fields a prediction instance carries, with what each must be. `optional`: a numeric field
 * whose features impute it, so it may be left out or null (it is imputed as in training).
 */
export function instanceFields(transform: FittedTransform): Array<{ field: string; type: InstanceFieldType; optional?: true }> {
  const fields = new Map<string, { type: InstanceFieldType; optional: boolean }>();
  for (const f of upgradeTransform(transform).features) {
    const imputed = f.kind === 'numeric' && f.impute !== undefined;
    for (const column of fittedColumns(f)) {
      const known = fields.get(column);
      if (known === undefined) fields.set(column, { type: fieldType(f.kind), optional: imputed });
      else known.optional &&= imputed; // optional only if every feature reading it imputes
    }
  }
  return [...fields.entries()].map(([field, { type, optional }]) => ({ field, type, ...(optional ? { optional: true as const } : {}) }));
}

/** The largest epoch milliseconds a JavaScript Date holds (±100,000,000 days). */
const MAX_EPOCH_MS = 8.64e15;

/** ISO-8601 without a zone is read as UTC, the same convention ingest uses for `timestamp` columns. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return Math.abs(value) <= MAX_EPOCH_MS ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(text);
  const ms = Date.parse(hasZone ? text : `${text.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_EPOCH_MS ? ms : undefined;
}

/** One encoder per loaded transform: building vocabulary lookups per request would be wasted work. */
const encoders = new WeakMap<FittedTransform, FeatureEncoder>();

function encoderFor(transform: FittedTransform): FeatureEncoder {
  let encoder = encoders.get(transform);
  if (encoder === undefined) {
    encoder = new FeatureEncoder(transform);
    encoders.set(transform, encoder);
  }
  return encoder;
}

/** The raw fields each loaded transform takes, as a set: unknown fields are refused by name. */
const fieldSets = new WeakMap<FittedTransform, ReadonlySet<string>>();

function fieldSetFor(transform: FittedTransform): ReadonlySet<string> {
  let fields = fieldSets.get(transform);
  if (fields === undefined) {
    fields = new Set(instanceFields(transform).map((f) => f.field));
    fieldSets.set(transform, fields);
  }
  return fields;
}

/**
 * Validates `instances` (the TF-Serving "instances" form: an array of objects keyed by raw column
 * name) and encodes them into feature codes; see encodeRowCodes.
 */
export function encodeInstanceCodes(transform: FittedTransform, instances: unknown): { codes: Float32Array; rows: number } {
  return encodeRowCodes(transform, instanceRows(instances));
}

/**
 * Validates the rows of a request and encodes them with the fitted transform (any known format) into
 * feature codes, rows × features, row-major: each value goes through the encoder apply-transform
 * uses, to the Float32 code an encoded shard stores, so a row is encoded exactly as in training. The
 * model's input is built from the codes as in training too (predictCodes). A field the model does
 * not take, a missing or mistyped value, and a value whose code is not a finite float32 (1e308
 * scaled by the feature's standard deviation) are each a BadRequestError naming the field.
 */
export function encodeRowCodes(transform: FittedTransform, source: RowSource): { codes: Float32Array; rows: number } {
  source.rejectUnknown(fieldSetFor(transform));
  const encoder = encoderFor(transform);
  const features = encoder.transform.features;
  const width = features.length;
  const out = new Float32Array(source.rows * width);
  for (let row = 0; row < source.rows; row++) {
    const codes = out.subarray(row * width, (row + 1) * width);
    const present = (column: string): unknown => {
      const value = source.value(row, column);
      if (value === undefined || value === null) throw new BadRequestError(`${source.path(row, column)} is missing`);
      return value;
    };
    const number = (column: string, value: unknown): number => {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new BadRequestError(`${source.path(row, column)} must be a number, got ${describeValue(value)}`);
      return value;
    };
    const string = (column: string): string => {
      const value = present(column);
      if (typeof value !== 'string') throw new BadRequestError(`${source.path(row, column)} must be a string, got ${describeValue(value)}`);
      return value;
    };
    features.forEach((f, i) => {
      switch (f.kind) {
        case 'numeric': {
          const value = source.value(row, f.column);
          // An imputing feature fills a left-out value exactly as it filled NULLs in training.
          if ((value === undefined || value === null) && f.impute !== undefined) {
            codes[i] = encoder.encodeNumber(i, null);
            break;
          }
          const x = number(f.column, present(f.column));
          const code = encoder.encodeNumber(i, x);
          if (f.log1p && !Number.isFinite(code)) {
            throw new BadRequestError(`${source.path(row, f.column)} is ${x}, but feature "${f.name}" takes its log1p, which needs a value greater than -1`);
          }
          codes[i] = checkedCode(code, () => `${source.path(row, f.column)} is ${describeValue(x)}`, f.name);
          break;
        }
        case 'quantileBuckets':
          codes[i] = encoder.encodeNumber(i, number(f.column, present(f.column)));
          break;
        case 'categorical':
        case 'hashed':
          codes[i] = encoder.encodeCategory(i, string(f.column));
          break;
        case 'cross':
          codes[i] = encoder.encodeCross(
            i,
            f.columns.map((column) => string(column)),
          );
          break;
        case 'hourOfDay':
        case 'dayOfWeek':
        case 'timestamp': {
          const value = present(f.column);
          const ms = parseTimestamp(value);
          if (ms === undefined) {
            throw new BadRequestError(
              `${source.path(row, f.column)} must be an ISO-8601 date-time (e.g. "2001-01-14 21:55") or epoch milliseconds, got ${describeValue(value)}`,
            );
          }
          codes[i] = checkedCode(encoder.encodeNumber(i, ms), () => `${source.path(row, f.column)} is ${describeValue(value)}`, f.name);
          break;
        }
      }
    });
  }
  return { codes: out, rows: source.rows };
}

/** A code as the model reads it (float32); one that overflows it would make the prediction NaN. */
function checkedCode(code: number, what: () => string, feature: string): number {
  if (Number.isFinite(Math.fround(code))) return code;
  throw new BadRequestError(
    `${what()}, too far outside the values feature "${feature}" was trained on to encode (it overflows a 32-bit float); check the value and its units`,
  );
}

/** The dense input vectors of `instances` (rows × inputDim): their codes expanded as FeatureEncoder.denseInto does in training. */
export function encodeInstances(transform: FittedTransform, instances: unknown): Float32Array {
  const { codes, rows } = encodeInstanceCodes(transform, instances);
  const encoder = encoderFor(transform);
  const width = encoder.transform.features.length;
  const dim = encoder.transform.inputDim;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) encoder.denseInto(codes.subarray(r * width, (r + 1) * width), out, r * dim);
  return out;
}
