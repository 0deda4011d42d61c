/**
 * How failures cross the workflow boundary. Pure: no Temporal import, so `lib/` can name the
 * failure type too.
 */

/** A user's mistake (bad spec, missing table or column, too many bad rows): retrying cannot fix it. */
export const PIPELINE_INPUT_ERROR = 'PipelineInputError';

/** Failure types no stage retries. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [PIPELINE_INPUT_ERROR];

/** The error and every `cause` under it, outermost first (Temporal wraps an activity's failure in an ActivityFailure). */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && !chain.includes(e); e = (e as { cause?: unknown }).cause) {
    chain.push(e);
    if (!(e instanceof Error)) break;
  }
  return chain;
}

/** The innermost message: what actually went wrong, without the wrappers' "Activity task failed". */
export function rootCauseMessage(err: unknown): string {
  const errors = causeChain(err).filter((e): e is Error => e instanceof Error);
  const root = errors[errors.length - 1];
  return root ? root.message : String(err);
}

/** Whether anything in the chain is a failure of `type` (an ApplicationFailure's type, or an Error's name). */
export function hasFailureType(err: unknown, type: string): boolean {
  return causeChain(err).some((e) => e instanceof Error && ((e as { type?: unknown }).type === type || e.name === type));
}

export function isPipelineInputFailure(err: unknown): boolean {
  return hasFailureType(err, PIPELINE_INPUT_ERROR);
}
