import { PipelineInputError } from '../../errors';

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which would make a name differ from what pipewright recorded. */
export const MAX_IDENTIFIER_LENGTH = 63;

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isPlainIdentifier(name: string): boolean {
  return PLAIN_IDENTIFIER.test(name) && name.length <= MAX_IDENTIFIER_LENGTH;
}

/** Fails unless `table` can be used as is: pipewright never rewrites a table name the user chose. */
export function checkTableName(table: string): void {
  if (!isPlainIdentifier(table)) {
    throw new PipelineInputError(
      `--table: "${table}" is not a plain SQL identifier; use letters, digits and underscores, starting with a letter or underscore, ` +
        `at most ${MAX_IDENTIFIER_LENGTH} characters (e.g. ${suggestedName(table) || 'my_table'}).`,
    );
  }
}

export interface ColumnNames {
  /** One SQL name per file column, in file order: plain, lowercase, unique. */
  names: string[];
  /** The file columns whose name had to change, for the user to see. */
  renamed: Array<{ header: string; name: string }>;
}

/**
 * Turns a file's header into column names that need no care in SQL or in a pipeline spec:
 * lowercase ASCII letters, digits and underscores, not starting with a digit, at most 63 characters.
 * Accents are dropped ("Été" → "ete"), each run of other characters becomes one underscore, a
 * leading digit gets an underscore before it, an empty header becomes column_N, and repeats get _2, _3, ….
 */
export function sanitiseColumnNames(headers: readonly string[]): ColumnNames {
  const taken = new Set<string>();
  const names: string[] = [];
  const renamed: Array<{ header: string; name: string }> = [];
  headers.forEach((header, i) => {
    const base = suggestedName(header) || `column_${i + 1}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) {
      const suffix = `_${n}`;
      name = base.slice(0, MAX_IDENTIFIER_LENGTH - suffix.length) + suffix;
    }
    taken.add(name);
    names.push(name);
    if (name !== header) renamed.push({ header, name });
  });
  return { names, renamed };
}

/** The plain identifier closest to `text`, or '' when nothing of it is usable. */
function suggestedName(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // combining accents left by NFKD
    .toLowerCase();
  // Runs of unusable characters become one underscore; the ones at either end are dropped ("Price ($)" → "price").
  const parts = ascii.split(/[^a-z0-9_]+/);
  const name = parts.filter((part, i) => part !== '' || (i > 0 && i < parts.length - 1)).join('_');
  if (name === '') return '';
  return (/^[0-9]/.test(name) ? `_${name}` : name).slice(0, MAX_IDENTIFIER_LENGTH);
}
