import { ApplicationFailure, ActivityFailure, ChildWorkflowFailure, RetryState } from '@temporalio/common';
import { causeChain, hasFailureType, isPipelineInputFailure, PIPELINE_INPUT_ERROR, rootCauseMessage } from '../../contracts/failures';
import { asTemporalFailure } from '../../activities/support/run-task';
import { PipelineInputError } from '../../lib/errors';
import { ThreadTaskError } from '../../lib/threads/run-in-thread';

/** An input error as the pipeline sees it: thrown by an activity, wrapped by Temporal, maybe inside a child workflow. */
function wrapped(inner: Error): Error {
  const activity = new ActivityFailure('Activity task failed', 'checkDataset', '1', RetryState.NON_RETRYABLE_FAILURE, 'cpu@host:1', inner);
  return new ChildWorkflowFailure('default', { workflowId: 'run-train', runId: 'r' }, 'trainModel', RetryState.NON_RETRYABLE_FAILURE, activity);
}

describe('failures across the workflow boundary', () => {
  test('the cause chain goes from the outermost wrapper to the root, and stops at a cycle', () => {
    const root = new Error('table "x" does not exist');
    const outer = wrapped(root);
    expect(causeChain(outer)).toHaveLength(3);
    expect(causeChain(outer)[2]).toBe(root);
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(causeChain(b)).toEqual([b, a]);
    expect(causeChain('plain string')).toEqual(['plain string']);
  });

  test('the root message is what went wrong, without the wrappers', () => {
    expect(rootCauseMessage(wrapped(ApplicationFailure.nonRetryable('column "air_time" is missing', PIPELINE_INPUT_ERROR)))).toBe(
      'column "air_time" is missing',
    );
    expect(rootCauseMessage('not an error')).toBe('not an error');
  });

  test('a user mistake is recognised by its failure type or error name, however deep', () => {
    expect(isPipelineInputFailure(wrapped(ApplicationFailure.nonRetryable('bad', PIPELINE_INPUT_ERROR)))).toBe(true);
    expect(isPipelineInputFailure(new PipelineInputError('bad'))).toBe(true);
    expect(isPipelineInputFailure(wrapped(ApplicationFailure.retryable('connection refused', 'Error')))).toBe(false);
    expect(hasFailureType(new TypeError('x'), 'TypeError')).toBe(true);
  });

  test('activities turn user mistakes, also from a worker thread, into non-retryable failures and leave the rest retryable', () => {
    const fromThread = asTemporalFailure(new ThreadTaskError(PIPELINE_INPUT_ERROR, '50 of 5000 rows are malformed'));
    expect(fromThread).toBeInstanceOf(ApplicationFailure);
    expect(fromThread).toMatchObject({ type: PIPELINE_INPUT_ERROR, nonRetryable: true, message: '50 of 5000 rows are malformed' });
    const transient = new Error('ECONNREFUSED');
    expect(asTemporalFailure(transient)).toBe(transient);
  });
});
