/**
 * A command line that cannot be run as typed (unknown subcommand, missing argument, bad number or
 * date): the CLI prints the message and the usage line of the command, and exits 2. Things that
 * are well-formed but not there (no such model or version) are ordinary errors: exit 1.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A version number as typed: "3" or "v3". */
export function parseVersionArg(value: string, what: string, usage: string): number {
  const match = /^v?(\d+)$/.exec(value);
  const n = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} must be a version number such as 3 or v3, got "${value}"`, usage);
  return n;
}

/**
 * An instant as typed: an ISO 8601 date-time (2026-11-30T12:00:00Z, with an offset or local time
 * without one) or a date (2026-11-30, midnight UTC). Anything else is refused rather than guessed
 * (Date.parse alone accepts "1" or "March").
 */
export function parseInstant(value: string, what: string, usage: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
  const at = iso.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`${what} must be a date or date-time such as 2026-11-30T12:00:00Z, got "${value}"`, usage);
  return at;
}
