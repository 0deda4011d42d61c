import { createHash } from 'node:crypto';
import type { EvaluationState, SliceStates } from './evaluation-state';
import { evaluationStateProblems } from './evaluation-state';
import type { MetricState } from './metric-state';

/**
 * The metric-state artifact: a small JSON header, then the states' arrays as raw little-endian
 * bytes (a binary state holds a float32 score and two counts per distinct score, which JSON would
 * triple in size and parse slowly).
 *
 *   bytes 0-7    "PWMSTATE"
 *   bytes 8-11   u32 LE: the header's length H
 *   12 … 12+H    the header, UTF-8 JSON: format, the body's length and sha256, and the states with
 *                every typed array replaced by {"$array": type, "offset", "length"} into the body
 *   body         from the first multiple of 8 after the header: the arrays, each at a multiple of 8
 *
 * Counts (Float64Array of whole numbers) are stored as u32 when they fit, and read back as Float64.
 * Encoding is deterministic (same state, same bytes), so a shard evaluated twice is one artifact.
 */
export const METRIC_STATE_FORMAT = 'pipewright.metric-state/v1';
const MAGIC = 'PWMSTATE';
const ALIGN = 8;

type ArrayKind = 'f32' | 'f64' | 'u32';
interface ArrayRef {
  $array: ArrayKind;
  offset: number;
  length: number;
  /** How the values are stored when not as $array (Float64 counts as u32). */
  stored?: ArrayKind;
}
/** A number JSON cannot hold (NaN, ±Infinity), by name. */
interface SpecialNumber {
  $number: 'NaN' | 'Infinity' | '-Infinity';
}
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Header {
  format: string;
  body: { bytes: number; sha256: string };
  overall: Json;
  slices: Array<{ feature: string; values: Array<[number, Json]> }>;
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** The artifact's bytes for an evaluation state. */
export function encodeState(state: EvaluationState): Uint8Array {
  const chunks: Uint8Array[] = [];
  let bodyBytes = 0;
  const put = (kind: ArrayKind, bytes: Uint8Array, length: number, stored?: ArrayKind): ArrayRef => {
    const ref: ArrayRef = { $array: kind, offset: bodyBytes, length, ...(stored ? { stored } : {}) };
    chunks.push(bytes);
    bodyBytes += bytes.byteLength;
    const padded = align(bodyBytes);
    if (padded > bodyBytes) chunks.push(new Uint8Array(padded - bodyBytes));
    bodyBytes = padded;
    return ref;
  };
  const toJson = (value: unknown): Json => {
    if (value instanceof Float32Array) return put('f32', bytesOf(value), value.length) as unknown as Json;
    if (value instanceof Float64Array) {
      if (value.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
        return put('f64', bytesOf(Uint32Array.from(value)), value.length, 'u32') as unknown as Json;
      }
      return put('f64', bytesOf(value), value.length) as unknown as Json;
    }
    if (value instanceof Uint32Array) return put('u32', bytesOf(value), value.length) as unknown as Json;
    if (typeof value === 'number') return Number.isFinite(value) ? value : ({ $number: String(value) } as SpecialNumber as unknown as Json);
    if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
    if (Array.isArray(value)) return value.map(toJson);
    if (typeof value === 'object') {
      const out: { [key: string]: Json } = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toJson(v);
      return out;
    }
    throw new Error(`encodeState: cannot store a ${typeof value}`);
  };
  const overall = toJson(state.overall);
  const slices = state.slices.map((s) => ({ feature: s.feature, values: [...s.values.entries()].map(([code, v]): [number, Json] => [code, toJson(v)]) }));
  const body = concat(chunks, bodyBytes);
  const header: Header = { format: METRIC_STATE_FORMAT, body: { bytes: bodyBytes, sha256: sha256(body) }, overall, slices };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const bodyStart = align(12 + headerBytes.byteLength);
  const out = new Uint8Array(bodyStart + bodyBytes);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.byteLength, true);
  out.set(headerBytes, 12);
  out.set(body, bodyStart);
  return out;
}

/**
 * The evaluation state in an artifact's bytes. `source` names the file in errors. Refuses, naming
 * what is wrong, anything that is not a sound state of this format: another file, another format
 * (a newer pipewright's), a truncated or altered file, arrays of inconsistent lengths.
 */
export function decodeState(bytes: Uint8Array, source = 'metric state'): EvaluationState {
  const fail = (why: string): Error => new Error(`${source} is not a readable metric state: ${why}; evaluate its shard again to rewrite it`);
  if (bytes.byteLength < 12 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) {
    throw fail(`it does not start with "${MAGIC}" (not a pipewright metric-state file)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.byteLength) throw fail(`its header claims ${headerLength} bytes but the file has ${bytes.byteLength} (truncated)`);
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8')) as Header;
  } catch (err) {
    throw fail(`its header is not JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object') throw fail('its header is not an object');
  if (header.format !== METRIC_STATE_FORMAT) {
    throw new Error(
      `${source} has format ${JSON.stringify(header.format)}; this pipewright reads ${METRIC_STATE_FORMAT}: ` +
        'evaluate the shards with this version (or upgrade pipewright to read newer states)',
    );
  }
  const bodyStart = align(12 + headerLength);
  const body = bytes.subarray(bodyStart);
  if (body.byteLength !== header.body?.bytes) throw fail(`its body has ${body.byteLength} bytes, the header says ${header.body?.bytes} (truncated or padded)`);
  if (sha256(body) !== header.body.sha256) throw fail('its body does not match the checksum in its header (corrupt)');

  const fromJson = (value: Json): unknown => {
    if (Array.isArray(value)) return value.map(fromJson);
    if (value === null || typeof value !== 'object') return value;
    if ('$number' in value) {
      const special = (value as unknown as SpecialNumber).$number;
      if (special === 'NaN') return Number.NaN;
      if (special === 'Infinity') return Infinity;
      if (special === '-Infinity') return -Infinity;
      throw fail(`unknown number ${JSON.stringify(special)}`);
    }
    if ('$array' in value) return readArray(value as unknown as ArrayRef);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromJson(v);
    return out;
  };
  const readArray = (ref: ArrayRef): Float32Array | Float64Array | Uint32Array => {
    const stored = ref.stored ?? ref.$array;
    const width = stored === 'f64' ? 8 : 4;
    if (
      !Number.isInteger(ref.offset) ||
      !Number.isInteger(ref.length) ||
      ref.offset < 0 ||
      ref.length < 0 ||
      ref.offset + ref.length * width > body.byteLength
    ) {
      throw fail(`an array runs past the body (offset ${ref.offset}, ${ref.length} values of ${width} bytes)`);
    }
    // Copied out: the file's buffer need not be aligned for a typed-array view.
    const raw = new Uint8Array(ref.length * width);
    raw.set(body.subarray(ref.offset, ref.offset + raw.byteLength));
    const values = stored === 'f32' ? new Float32Array(raw.buffer) : stored === 'f64' ? new Float64Array(raw.buffer) : new Uint32Array(raw.buffer);
    if (ref.$array === stored) return values;
    if (ref.$array === 'f64') return Float64Array.from(values);
    throw fail(`an array of ${ref.$array} stored as ${stored}`);
  };

  const stateOf = (json: Json, where: string): MetricState => {
    const state = fromJson(json) as MetricState;
    const problem = stateProblem(state);
    if (problem !== null) throw fail(`${where}: ${problem}`);
    return state;
  };
  if (!Array.isArray(header.slices)) throw fail('its header has no slice list');
  const state: EvaluationState = {
    overall: stateOf(header.overall, 'the overall state'),
    slices: header.slices.map((s): SliceStates => ({
      feature: String(s.feature),
      values: new Map(s.values.map(([code, v]) => [Number(code), stateOf(v, `slice "${s.feature}" value ${code}`)])),
    })),
  };
  const problems = evaluationStateProblems(state);
  if (problems.length > 0) throw fail(problems.join('; '));
  return state;
}

/** What is wrong with a decoded state's shape, or null: the checks that catch a file of another layout. */
function stateProblem(state: MetricState): string | null {
  if (state === null || typeof state !== 'object') return 'not an object';
  const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  switch (state.task) {
    case 'binary': {
      const { scores, positives, negatives } = state;
      if (!(scores instanceof Float32Array && positives instanceof Float64Array && negatives instanceof Float64Array))
        return 'a binary state without its arrays';
      if (positives.length !== scores.length || negatives.length !== scores.length) {
        return `a binary state of ${scores.length} scores but ${positives.length} and ${negatives.length} counts`;
      }
      for (let i = 0; i < scores.length; i++) {
        if (i > 0 && !(scores[i]! > scores[i - 1]!)) return `binary scores not strictly ascending at ${i}`;
        if (!isCount(positives[i]) || !isCount(negatives[i])) return `a binary count that is not a whole number at ${i}`;
      }
      return null;
    }
    case 'multiclass': {
      const c = Array.isArray(state.classes) ? state.classes.length : -1;
      if (c < 0 || !(state.confusion instanceof Float64Array) || state.confusion.length !== c * c)
        return 'a multiclass state whose confusion matrix is not classes × classes';
      if (!isCount(state.rows) || typeof state.logLossSum !== 'number') return 'a multiclass state without its row count and log loss';
      let sum = 0;
      for (const v of state.confusion) sum += v;
      return sum === state.rows ? null : `a multiclass state of ${state.rows} rows whose confusion matrix holds ${sum}`;
    }
    case 'regression': {
      const numbers = [state.mean, state.m2, state.sse, state.sae, state.sumErrors, state.scale?.mean, state.scale?.std];
      if (!isCount(state.rows) || numbers.some((x) => typeof x !== 'number')) return 'a regression state without its sums';
      if (typeof state.absoluteErrors?.relativeAccuracy !== 'number') return 'a regression state without its error sketch';
      return null;
    }
    default:
      return `a state of the unknown task ${JSON.stringify((state as { task?: unknown }).task)}`;
  }
}

function bytesOf(a: Float32Array | Float64Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
