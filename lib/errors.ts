import { PIPELINE_INPUT_ERROR } from '../contracts/failures';

/**
 * A mistake in what the user asked for: a bad spec, a missing table or column, data over the
 * quarantine threshold. Retrying cannot fix it, so activities turn it into a non-retryable
 * Temporal failure whose message is shown in the CLI and the Web UI.
 */
export class PipelineInputError extends Error {
  constructor(message: string) {
    super(message);
    // The name, unlike the class, survives the trip back from a worker thread.
    this.name = PIPELINE_INPUT_ERROR;
  }
}
