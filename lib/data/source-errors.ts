import { PipelineInputError } from '../errors';

/**
 * PostgreSQL errors that are the user's to fix, so they stop the run instead of retrying: class 22
 * (data exception: a cast or a division in a source query fails), 42 (syntax, or a missing object)
 * and 25006 (a source query tried to write in the read-only transaction it runs in).
 */
export function isSourceMistake(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('42') || code === '25006');
}

/** The error to throw for a failure while reading `sourceName`: a PipelineInputError for the user's mistakes, else unchanged. */
export function asSourceError(err: unknown, sourceName: string): unknown {
  if (!isSourceMistake(err)) return err;
  const { message, code } = err as { message: string; code: string };
  return new PipelineInputError(`source: reading ${sourceName} failed: ${message} (PostgreSQL error ${code}).`);
}
