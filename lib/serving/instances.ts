import type { FittedTransform } from '../features/transform';
import { FeatureEncoder } from '../features/transform';

/** A request the server refuses with HTTP 400; the message names the offending field. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** The raw fields a prediction instance must carry, with what each must be. */
export function instanceFields(transform: FittedTransform): Array<{ field: string; type: 'number' | 'string' | 'timestamp' }> {
  const fields = new Map<string, 'number' | 'string' | 'timestamp'>();
  for (const f of transform.features) {
    fields.set(f.column, f.kind === 'numeric' ? 'number' : f.kind === 'categorical' ? 'string' : 'timestamp');
  }
  return [...fields.entries()].map(([field, type]) => ({ field, type }));
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

/**
 * Validates `instances` (the KServe V1 / TF-Serving "instances" form: an array of objects keyed by
 * raw column name) and encodes them into one dense row-major input matrix with the fitted transform.
 */
export function encodeInstances(transform: FittedTransform, instances: unknown): Float32Array {
  if (!Array.isArray(instances)) throw new BadRequestError('"instances" must be an array of objects, e.g. {"instances":[{...}]}');
  if (instances.length === 0) throw new BadRequestError('"instances" is empty; send at least one instance');
  if (instances.length > 10000) throw new BadRequestError(`"instances" has ${instances.length} entries; send at most 10000 per request`);
  const encoder = new FeatureEncoder(transform);
  const dim = transform.inputDim;
  const out = new Float32Array(instances.length * dim);
  const codes = new Float32Array(transform.features.length);
  instances.forEach((instance, row) => {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw new BadRequestError(`instances[${row}] must be an object keyed by feature column`);
    }
    const record = instance as Record<string, unknown>;
    transform.features.forEach((f, i) => {
      const where = `instances[${row}].${f.column}`;
      const value = record[f.column];
      if (value === undefined || value === null) throw new BadRequestError(`${where} is missing`);
      switch (f.kind) {
        case 'numeric':
          if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadRequestError(`${where} must be a number, got ${JSON.stringify(value)}`);
          codes[i] = encoder.encodeNumber(i, value);
          break;
        case 'categorical':
          if (typeof value !== 'string') throw new BadRequestError(`${where} must be a string, got ${JSON.stringify(value)}`);
          codes[i] = encoder.encodeCategory(i, value);
          break;
        case 'hourOfDay':
        case 'dayOfWeek': {
          const ms = parseTimestamp(value);
          if (ms === undefined)
            throw new BadRequestError(`${where} must be an ISO-8601 date-time (e.g. "2001-01-14 21:55") or epoch milliseconds, got ${JSON.stringify(value)}`);
          codes[i] = encoder.encodeNumber(i, ms);
          break;
        }
      }
    });
    encoder.denseInto(codes, out, row * dim);
  });
  return out;
}
