/**
 * Where two JSON documents (two runs' specs) differ, as JSON paths with both values: the answer to
 * "what did I change between these runs". Pure.
 */

/** One difference. A value that one side lacks is `undefined` on that side. */
export interface JsonDifference {
  /** `$.model.epochs`, `$.features[2].topK`, `$["odd key"]`. */
  path: string;
  a: unknown;
  b: unknown;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

type Kind = 'array' | 'object' | 'scalar';
const kindOf = (v: unknown): Kind => (Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? 'object' : 'scalar');

/**
 * The differences between `a` and `b`, leaves first-to-last in `a`'s key order (keys only `b` has
 * come after). Arrays are compared position by position: a feature inserted at the front shows as
 * every later position changed, which is what the spec's order (and its effect on the model) is.
 */
export function diffJson(a: unknown, b: unknown, path = '$'): JsonDifference[] {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || ka === 'scalar') return a === b ? [] : [{ path, a, b }];
  if (ka === 'array') {
    const xs = a as unknown[];
    const ys = b as unknown[];
    const out: JsonDifference[] = [];
    for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
      if (i >= xs.length || i >= ys.length) out.push({ path: child(path, i), a: xs[i], b: ys[i] });
      else out.push(...diffJson(xs[i], ys[i], child(path, i)));
    }
    return out;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = [...Object.keys(x), ...Object.keys(y).filter((k) => !Object.hasOwn(x, k))];
  const out: JsonDifference[] = [];
  for (const key of keys) {
    const inA = Object.hasOwn(x, key) && x[key] !== undefined;
    const inB = Object.hasOwn(y, key) && y[key] !== undefined;
    if (inA && inB) out.push(...diffJson(x[key], y[key], child(path, key)));
    else if (inA || inB) out.push({ path: child(path, key), a: inA ? x[key] : undefined, b: inB ? y[key] : undefined });
  }
  return out;
}

/** A side of a difference as one line of text: its JSON, or "(absent)". */
export function diffValue(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}
