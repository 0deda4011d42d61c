import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { PIPELINE_INPUT_ERROR, type TrainingState, type TrainModelInput, type TrainModelResult } from '../../contracts';
import { stageActivities } from '../support/stage-activities';
import { reportToParent } from './report-to-parent';

/**
 * Training as it ran before data-parallel epochs: one activity per epoch on one worker. Only
 * training runs whose history began this way take this path (see DATA_PARALLEL_PATCH), so that
 * they replay and finish after an upgrade.
 */
export async function trainEpochByEpoch(input: TrainModelInput, again: (next: TrainModelInput) => Promise<never>): Promise<TrainModelResult> {
  const { trainEpoch } = stageActivities('train', input.queues);
  const spec = input.model;
  let state: TrainingState = input.resume ?? { epochsDone: 0, losses: [], backend: 'unknown', trainSamples: 0, trainSeconds: 0 };
  const reports: Array<Promise<void>> = [];
  while (state.epochsDone < spec.epochs) {
    const epoch = state.epochsDone;
    const result = await trainEpoch.executeWithOptions({ summary: `train ${spec.type} epoch ${epoch + 1}/${spec.epochs}` }, [
      { model: spec, transform: input.transform, shards: input.shards, epoch, ...(state.checkpoint ? { from: state.checkpoint } : {}) },
    ]);
    state = {
      epochsDone: epoch + 1,
      checkpoint: result.checkpoint,
      losses: [...state.losses, result.loss],
      backend: result.backend,
      trainSamples: state.trainSamples + result.samples,
      trainSeconds: state.trainSeconds + result.seconds,
    };
    const report = reportToParent({ epoch, loss: result.loss, backend: result.backend });
    report.catch(() => undefined);
    reports.push(report);
    if (state.epochsDone < spec.epochs && workflowInfo().continueAsNewSuggested) {
      await Promise.all(reports);
      await again({ ...input, resume: state });
    }
  }
  await Promise.all(reports);
  if (!state.checkpoint) throw ApplicationFailure.nonRetryable(`model.epochs is ${spec.epochs}: set it to 1 or more`, PIPELINE_INPUT_ERROR);
  return {
    model: {
      ...state.checkpoint,
      backend: state.backend,
      epochs: spec.epochs,
      trainSamples: state.trainSamples,
      trainSeconds: state.trainSeconds,
      finalLoss: state.losses[state.losses.length - 1]!,
    },
    losses: state.losses,
  };
}
