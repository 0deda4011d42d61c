import { executeChild } from '@temporalio/workflow';
import { foldRule, MODEL, type CrossValidateInput, type EvaluationMetrics, type FoldPlan } from '../../contracts';
import { stageActivities } from '../support/stage-activities';
import { trainModel } from '../train/train-model';
import type { Slots } from './slots';

/** What every fold shares: the request, the plan, the parent's id (its children's ids start with it) and the activity slots. */
export interface FoldContext {
  input: CrossValidateInput;
  plan: FoldPlan;
  modelName: string;
  parentId: string;
  slots: Slots;
}

/**
 * One fold, as scikit-learn's cross_validate runs a Pipeline on it: the transform refitted on the fold's
 * train rows only (so no statistic of its test rows leaks into the encoding), every shard encoded
 * with it, a model trained in a child workflow, and the fold's test rows scored shard by shard on the
 * eval pool and merged. Names the fold (1-based, as the Web UI shows it) in every summary and child id.
 */
export async function runFold(context: FoldContext, index: number): Promise<EvaluationMetrics> {
  const { input, plan, modelName, parentId, slots } = context;
  const { spec, dataset, queues } = input;
  const { fitTransform, applyTransform } = stageActivities('transform', queues);
  const { evaluateShard, mergeEvaluation } = stageActivities('evaluate', queues);
  const fold = `fold ${index + 1}/${plan.k}`;

  const transform = await slots.run(() =>
    fitTransform.executeWithOptions({ summary: `${fold}: fit transform on the fold's train rows (its ${plan.testRows[index]} test rows held out)` }, [
      { spec, dataset, fold: foldRule(plan, index) },
    ]),
  );
  const encoded = await Promise.all(
    dataset.shards.map((shard) =>
      slots.run(() => applyTransform.executeWithOptions({ summary: `${fold}: apply transform to shard ${shard.partition}` }, [{ transform, shard }])),
    ),
  );
  const { model } = await executeChild(trainModel, {
    workflowId: `${parentId}-fold-${index + 1}-train`,
    taskQueue: queues.orchestrator,
    args: [{ model: spec.model, transform, shards: encoded, queues }],
    staticSummary: `Train **${modelName}** on cross-validation ${fold} (${spec.model.type}, ${spec.model.epochs} epochs) on ${encoded.length} shards`,
    typedSearchAttributes: [{ key: MODEL, value: modelName }],
  });
  // Shards without a test row of this fold have nothing to score.
  const scored = encoded.filter((shard) => shard.testRows > 0);
  const states = await Promise.all(
    scored.map((shard) =>
      slots.run(() =>
        evaluateShard.executeWithOptions({ summary: `${fold}: score the fold's ${shard.testRows} test rows of shard ${shard.partition}` }, [
          { model, transform, shard, slices: [] },
        ]),
      ),
    ),
  );
  const { metrics } = await slots.run(() =>
    mergeEvaluation.executeWithOptions({ summary: `${fold}: merge the metrics of ${states.length} shards` }, [
      { transform, states: states.map(({ backend: _backend, ...state }) => state), slices: [] },
    ]),
  );
  return metrics;
}
