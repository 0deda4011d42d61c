/**
 * JSON text that PostgreSQL's jsonb always accepts, from any value a client or a model produced.
 *
 * A flush writes thousands of rows in one statement, so a single value PostgreSQL refuses would lose
 * all of them: everything here is total (never throws) and its output always parses as jsonb.
 * JSON.stringify alone is not enough: it throws on BigInt and cycles (and on a throwing getter or
 * toJSON), and it writes NUL characters and lone UTF-16 surrogates as \u escapes that jsonb rejects.
 */

/** Deeper than this, a value is stored as a marker: a client's pathological nesting must not overflow the stack. */
const MAX_DEPTH = 64;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (String#toWellFormed is ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** A string PostgreSQL text and jsonb can hold: no NUL (which neither stores), no lone surrogate (which jsonb refuses). */
export function pgSafeText(text: string): string {
  // Two tests first: almost every string is clean and is then returned as it is, without a copy.
  const wellFormed = LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, '\uFFFD') : text;
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
}

/**
 * The value as jsonb-safe JSON text. What JSON cannot carry is stored so that it still reads as what
 * it was: NaN and ±Infinity as null (as JSON.stringify does), BigInt as its decimal string, a cycle as
 * "[Circular]", nesting beyond MAX_DEPTH as "[Too deep]", anything that throws when read as
 * "[Unserializable: …]". Undefined, functions and symbols follow JSON.stringify: left out of objects,
 * null in arrays and at the top.
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(clean(value, new Set(), 0) ?? null);
  } catch (err) {
    // Only reachable through exotic objects (a Proxy whose traps throw mid-walk); still store something.
    return JSON.stringify(`[Unserializable: ${pgSafeText(errorText(err))}]`);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A plain JSON copy of `value`; undefined where JSON.stringify would leave the entry out. */
function clean(value: unknown, ancestors: Set<object>, depth: number): Json | undefined {
  switch (typeof value) {
    case 'string':
      return pgSafeText(value);
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      if (value === null) return null;
      return cleanObject(value, ancestors, depth);
  }
  return null;
}

function cleanObject(value: object, ancestors: Set<object>, depth: number): Json | undefined {
  if (ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Too deep]';
  try {
    // toJSON first, as JSON.stringify does: Dates become ISO strings (an invalid Date, null).
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(value);
      if (replaced !== value) {
        ancestors.add(value);
        try {
          return clean(replaced, ancestors, depth + 1);
        } finally {
          ancestors.delete(value);
        }
      }
    }
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((item: unknown) => clean(item, ancestors, depth + 1) ?? null);
      // Boxed primitives read as their value, as in JSON.stringify.
      if (value instanceof Number || value instanceof String || value instanceof Boolean) return clean(value.valueOf(), ancestors, depth);
      // No prototype: a client's "__proto__" key must stay a key, not replace the prototype.
      const out = Object.create(null) as { [key: string]: Json };
      for (const key of Object.keys(value)) {
        const item = cleanProperty(value as Record<string, unknown>, key, ancestors, depth + 1);
        if (item !== undefined) out[pgSafeText(key)] = item;
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  } catch (err) {
    // A throwing getter or toJSON spoils only this value, not the row or the batch.
    return `[Unserializable: ${pgSafeText(errorText(err))}]`;
  }
}

/** One property: a getter that throws spoils only its own entry, not its object's other entries. */
function cleanProperty(value: Record<string, unknown>, key: string, ancestors: Set<object>, depth: number): Json | undefined {
  let item: unknown;
  try {
    item = value[key];
  } catch (err) {
    return `[Unserializable: ${pgSafeText(errorText(err))}]`;
  }
  return clean(item, ancestors, depth);
}

function errorText(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'unknown error';
  }
}
