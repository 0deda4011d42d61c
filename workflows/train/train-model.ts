import { ApplicationFailure, continueAsNew, executeChild, getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import {
  epochFinishedSignal,
  MODEL,
  PIPELINE_INPUT_ERROR,
  type EpochFinished,
  type TrainingState,
  type TrainModelInput,
  type TrainModelResult,
} from '../../contracts';
import { stageActivities } from '../support/stage-activities';

/**
 * Trains a model, one activity per epoch on the gpu pool, each starting from the previous epoch's
 * checkpoint (weights and optimizer state): a lost worker costs one epoch, and the retried epoch
 * gives the same model. A child workflow of its own, so a long training keeps its own history:
 * when Temporal suggests it, the run continues as new between epochs, carrying the checkpoint.
 */
export async function trainModel(input: TrainModelInput): Promise<TrainModelResult> {
  const { trainEpoch } = stageActivities('train', input.queues);
  const spec = input.model;
  let state: TrainingState = input.resume ?? { epochsDone: 0, losses: [], backend: 'unknown', trainSamples: 0, trainSeconds: 0 };
  // Epoch reports are not awaited one by one, so the next epoch is scheduled in the same workflow
  // task as the report; they are all awaited before the run ends or continues as new.
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
    report.catch(() => undefined); // rethrown by the Promise.all below, not an unhandled rejection meanwhile
    reports.push(report);
    if (state.epochsDone < spec.epochs && workflowInfo().continueAsNewSuggested) {
      await Promise.all(reports);
      await continueAsNew<typeof trainModel>({ ...input, resume: state });
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

/** Tells the pipeline that started this training that an epoch ended, for its progress; a standalone run has no one to tell. */
async function reportToParent(epoch: EpochFinished): Promise<void> {
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(epochFinishedSignal, epoch);
}

/** Starts training as a child of the pipeline run `runId` (id `<runId>-train`) and waits for its model. */
export function trainInChild(runId: string, modelName: string, input: TrainModelInput): Promise<TrainModelResult> {
  const { model, shards } = input;
  return executeChild(trainModel, {
    workflowId: `${runId}-train`,
    taskQueue: input.queues.orchestrator,
    args: [input],
    staticSummary: `Train **${modelName}** (${model.type}, ${model.epochs} epochs, batch ${model.batchSize}) on ${shards.length} shards`,
    typedSearchAttributes: [{ key: MODEL, value: modelName }],
  });
}
