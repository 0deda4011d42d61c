import { FeatureEncoder, fittedColumns, upgradeTransform, type FittedTransform } from '../features/transform';

/** A request the server refuses with HTTP 400; the message names the offending field. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

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

/** ISO-8601 without a zone is read as UTC, the same convention ingest uses for `timestamp` columns. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(text);
  const ms = Date.parse(hasZone ? text : `${text.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? ms : undefined;
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

/**
 * Validates `instances` (the KServe V1 / TF-Serving "instances" form: an array of objects keyed by
 * raw column name) and encodes them with the fitted transform (any known format) into feature codes,
 * rows × features, row-major: each value goes through the encoder apply-transform uses, to the
 * Float32 code an encoded shard stores, so a row is encoded exactly as in training. The model's input
 * is built from the codes as in training too (predictCodes).
 */
export function encodeInstanceCodes(transform: FittedTransform, instances: unknown): { codes: Float32Array; rows: number } {
  if (!Array.isArray(instances)) throw new BadRequestError('"instances" must be an array of objects, e.g. {"instances":[{...}]}');
  if (instances.length === 0) throw new BadRequestError('"instances" is empty; send at least one instance');
  if (instances.length > 10000) throw new BadRequestError(`"instances" has ${instances.length} entries; send at most 10000 per request`);
  const encoder = encoderFor(transform);
  const features = encoder.transform.features;
  const width = features.length;
  const out = new Float32Array(instances.length * width);
  instances.forEach((instance, row) => {
    const codes = out.subarray(row * width, (row + 1) * width);
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw new BadRequestError(`instances[${row}] must be an object keyed by feature column`);
    }
    const record = instance as Record<string, unknown>;
    const present = (column: string): unknown => {
      const value = record[column];
      if (value === undefined || value === null) throw new BadRequestError(`instances[${row}].${column} is missing`);
      return value;
    };
    const number = (column: string, value: unknown): number => {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new BadRequestError(`instances[${row}].${column} must be a number, got ${JSON.stringify(value)}`);
      return value;
    };
    const string = (column: string): string => {
      const value = present(column);
      if (typeof value !== 'string') throw new BadRequestError(`instances[${row}].${column} must be a string, got ${JSON.stringify(value)}`);
      return value;
    };
    features.forEach((f, i) => {
      switch (f.kind) {
        case 'numeric': {
          const value = record[f.column];
          // An imputing feature fills a left-out value exactly as it filled NULLs in training.
          if ((value === undefined || value === null) && f.impute !== undefined) {
            codes[i] = encoder.encodeNumber(i, null);
            break;
          }
          const x = number(f.column, present(f.column));
          const code = encoder.encodeNumber(i, x);
          if (!Number.isFinite(code)) {
            throw new BadRequestError(`instances[${row}].${f.column} is ${x}, but feature "${f.name}" takes its log1p, which needs a value greater than -1`);
          }
          codes[i] = code;
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
              `instances[${row}].${f.column} must be an ISO-8601 date-time (e.g. "2001-01-14 21:55") or epoch milliseconds, got ${JSON.stringify(value)}`,
            );
          }
          codes[i] = encoder.encodeNumber(i, ms);
          break;
        }
      }
    });
  });
  return { codes: out, rows: instances.length };
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
