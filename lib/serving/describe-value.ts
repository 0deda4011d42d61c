/** How much of a bad value an error message quotes: enough to recognise it, never the whole of a huge one. */
const MAX_QUOTE_CHARS = 60;
/** The longest rendering of a whole value (a few entries, each quoted short). */
const MAX_MESSAGE_CHARS = 160;
/** How deep into a nested value a message looks before it says "…". */
const MAX_DEPTH = 3;
/** How many entries of an array or object a message lists. */
const MAX_ENTRIES = 4;

/**
 * A short, safe rendering of a value a client sent, for an error message: a prefix of a long string
 * with its length, a few entries of an array or object, and names for what JSON cannot say
 * (Infinity, NaN). It never recurses deeper than MAX_DEPTH nor walks more than MAX_ENTRIES entries
 * per level, so a value nested thousands deep or megabytes long costs the same as a small one.
 */
export function describeValue(value: unknown): string {
  const text = render(value, 0);
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

function render(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_QUOTE_CHARS ? `${JSON.stringify(value.slice(0, MAX_QUOTE_CHARS))}… (${value.length} characters)` : JSON.stringify(value);
    case 'number':
      if (Number.isNaN(value)) return 'NaN';
      if (!Number.isFinite(value)) return `${value > 0 ? '' : '-'}Infinity (a number beyond the range of a double)`;
      return String(value);
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    case 'bigint':
      return `${value}n`;
    case 'object':
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[…]' : '{…}';
      if (Array.isArray(value)) {
        const shown = value.slice(0, MAX_ENTRIES).map((v) => render(v, depth + 1));
        return `[${shown.join(',')}${value.length > MAX_ENTRIES ? `,… (${value.length} entries)` : ''}]`;
      }
      return renderObject(value as Record<string, unknown>, depth);
    default:
      return typeof value;
  }
}

function renderObject(value: Record<string, unknown>, depth: number): string {
  const parts: string[] = [];
  let count = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (count++ < MAX_ENTRIES) parts.push(`${JSON.stringify(key.length > 20 ? `${key.slice(0, 20)}…` : key)}:${render(value[key], depth + 1)}`);
    else break;
  }
  return `{${parts.join(',')}${count > MAX_ENTRIES ? ',…' : ''}}`;
}

/** A field name from the client, quoted short: a 1 MB key must not become a 1 MB message. */
export function describeName(name: string): string {
  return name.length > 40 ? `${JSON.stringify(name.slice(0, 40))}… (${name.length} characters)` : JSON.stringify(name);
}
