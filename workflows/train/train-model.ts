import { ApplicationFailure, continueAsNew, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import {
  MODEL,
  PIPELINE_INPUT_ERROR,
  type CheckpointRef,
  type EncodedShardRef,
  type MergeRoundResult,
  type TrainingPlan,
  type TrainingState,
  type TrainModelInput,
  type TrainModelResult,
} from '../../contracts';
import { stageActivities } from '../support/stage-activities';
import { trainEpochByEpoch } from './legacy-epochs';
import { reportToParent } from './report-to-parent';
import { earlyStoppingStep, roundRange } from './training-schedule';

/** Marks histories that train in data-parallel rounds; older ones replay through trainEpochByEpoch. */
export const DATA_PARALLEL_PATCH = 'data-parallel-rounds';

/**
 * Trains a model in data-parallel rounds on the gpu pool. A plan fixes what each worker reads
 * (every shard with an interleaved share of the rows, or a group of shards) and its batch count;
 * each epoch is `roundsPerEpoch` rounds; in a round every worker trains on its part of its
 * batches from the same checkpoint,
 * and a join averages their weights and optimizer state by examples (and, at the end of an
 * epoch, scores the validation rows for early stopping). A worker that dies resumes from the
 * mid-epoch checkpoint in its last heartbeat, so the run's weights do not depend on failures.
 *
 * A child workflow of its own, so a long training keeps its own history: when Temporal suggests
 * it, the run continues as new between epochs, carrying the checkpoint and the plan.
 */
export async function trainModel(input: TrainModelInput): Promise<TrainModelResult> {
  const again = (next: TrainModelInput): Promise<never> => continueAsNew<typeof trainModel>(next);
  const spec = input.model;
  // A spec without a parallelism section was parsed before data-parallel training (a pipeline
  // already in flight, or a legacy run continued as new): it trains epoch by epoch too.
  if (!spec.parallelism || !patched(DATA_PARALLEL_PATCH)) return trainEpochByEpoch(input, again);
  const { planTraining, trainShards, mergeRound } = stageActivities('train', input.queues);
  const { workers, roundsPerEpoch: rounds } = spec.parallelism;

  let state: TrainingState = input.resume ?? { epochsDone: 0, losses: [], backend: 'unknown', trainSamples: 0, trainSeconds: 0, validationLosses: [] };
  const plan: TrainingPlan =
    state.plan ??
    (await planTraining.executeWithOptions({ summary: `plan ${spec.epochs} epochs over ${workers} workers` }, [
      { model: spec, transform: input.transform, shards: input.shards },
    ]));
  const byPartition = new Map(input.shards.map((s) => [s.partition, s]));
  const groups: EncodedShardRef[][] = plan.groups.map((g) => g.map((p) => byPartition.get(p)!));
  // Round reports are not awaited one by one, so the next round is scheduled in the same workflow
  // task as the report; they are all awaited before the run ends or continues as new.
  const reports: Array<Promise<void>> = [];
  const report = (r: Parameters<typeof reportToParent>[0]): void => {
    const sent = reportToParent(r);
    sent.catch(() => undefined); // rethrown by the Promise.all below, not an unhandled rejection meanwhile
    reports.push(sent);
  };

  while (state.epochsDone < spec.epochs && !state.stoppedEarly) {
    const epoch = state.epochsDone;
    let checkpoint: CheckpointRef | undefined = state.checkpoint;
    let samples = 0;
    let lossSum = 0;
    let seconds = 0;
    let backend = state.backend;
    let merged: MergeRoundResult | undefined;
    for (let round = 0; round < rounds; round++) {
      const from = checkpoint;
      const parts = await Promise.all(
        groups.map((shards, worker) => {
          const range = roundRange(plan.batches[worker]!, round, rounds);
          const where = `epoch ${epoch + 1}/${spec.epochs}${rounds > 1 ? `, round ${round + 1}/${rounds}` : ''}, worker ${worker + 1}/${groups.length}`;
          return trainShards.executeWithOptions({ summary: `train ${spec.type}: ${where}, batches ${range.fromBatch}..${range.toBatch}` }, [
            {
              model: spec,
              transform: input.transform,
              shards,
              epoch,
              round,
              worker,
              ...(plan.rowShares ? { share: { index: worker, count: groups.length } } : {}),
              ...range,
              batchesPerEpoch: plan.batches[worker]!,
              ...(from ? { from } : {}),
            },
          ]);
        }),
      );
      const validate = round === rounds - 1 && plan.validationRows > 0;
      merged =
        parts.length === 1 && !validate
          ? { checkpoint: parts[0]!.checkpoint }
          : await mergeRound.executeWithOptions(
              { summary: `${parts.length > 1 ? `average ${parts.length} workers` : 'checkpoint'}${validate ? ', validation loss' : ''}: epoch ${epoch + 1}` },
              [
                {
                  model: spec,
                  transform: input.transform,
                  parts: parts.map((p) => ({ checkpoint: p.checkpoint, samples: p.samples })),
                  epoch,
                  ...(validate ? { validateOn: input.shards } : {}),
                },
              ],
            );
      checkpoint = merged.checkpoint;
      for (const p of parts) {
        samples += p.samples;
        lossSum += p.lossSum;
      }
      // Workers run side by side: a round takes as long as its slowest.
      seconds += Math.max(...parts.map((p) => p.seconds));
      backend = parts[0]!.backend;
      report({
        epoch,
        loss: lossSum / Math.max(1, samples),
        backend,
        round: round + 1,
        rounds,
        workers: groups.length,
        ...(merged.validationLoss !== undefined ? { validationLoss: merged.validationLoss } : {}),
        ...(merged.validationMetric ? { validationMetric: merged.validationMetric } : {}),
      });
    }
    const validationLoss = merged?.validationLoss;
    state = {
      ...state,
      epochsDone: epoch + 1,
      checkpoint: checkpoint!,
      losses: [...state.losses, lossSum / Math.max(1, samples)],
      backend,
      trainSamples: state.trainSamples + samples,
      trainSeconds: state.trainSeconds + seconds,
      plan,
      validationLosses: validationLoss === undefined ? state.validationLosses : [...(state.validationLosses ?? []), validationLoss],
    };
    if (spec.earlyStopping && validationLoss !== undefined) {
      const step = earlyStoppingStep(spec.earlyStopping, state.best, { epoch, loss: validationLoss, checkpoint: checkpoint! });
      state = { ...state, ...(step.best ? { best: step.best } : {}), stoppedEarly: step.stop };
    }
    if (state.epochsDone < spec.epochs && !state.stoppedEarly && workflowInfo().continueAsNewSuggested) {
      await Promise.all(reports);
      await again({ ...input, resume: state });
    }
  }
  await Promise.all(reports);
  if (!state.checkpoint) throw ApplicationFailure.nonRetryable(`model.epochs is ${spec.epochs}: set it to 1 or more`, PIPELINE_INPUT_ERROR);
  const keepBest = state.stoppedEarly && spec.earlyStopping?.restoreBest && state.best;
  const final = keepBest ? state.best!.checkpoint : state.checkpoint;
  return {
    model: {
      ...final,
      backend: state.backend,
      epochs: state.epochsDone,
      trainSamples: state.trainSamples,
      trainSeconds: state.trainSeconds,
      finalLoss: state.losses[state.losses.length - 1]!,
    },
    losses: state.losses,
    ...(state.validationLosses?.length ? { validationLosses: state.validationLosses } : {}),
    ...(state.stoppedEarly ? { stoppedAfterEpochs: state.epochsDone } : {}),
  };
}

/** Starts training as a child of the pipeline run `runId` (id `<runId>-train`) and waits for its model. */
export function trainInChild(runId: string, modelName: string, input: TrainModelInput): Promise<TrainModelResult> {
  const { model, shards } = input;
  // Specs from before data-parallel training have no parallelism section.
  const workers = model.parallelism ? `, ${model.parallelism.workers} worker${model.parallelism.workers === 1 ? '' : 's'}` : '';
  return executeChild(trainModel, {
    workflowId: `${runId}-train`,
    taskQueue: input.queues.orchestrator,
    args: [input],
    staticSummary: `Train **${modelName}** (${model.type}, ${model.epochs} epochs, batch ${model.batchSize}${workers}) on ${shards.length} shards`,
    typedSearchAttributes: [{ key: MODEL, value: modelName }],
  });
}
