import { ApplicationFailure, CancellationScope, executeChild, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  crossValidationProblem,
  epochFinishedSignal,
  isPipelineInputFailure,
  MODEL,
  PIPELINE_INPUT_ERROR,
  rootCauseMessage,
  type CrossValidateInput,
  type CrossValidationResult,
  type EvaluationMetrics,
} from '../../contracts';
import { stageActivities } from '../support/stage-activities';
import { runFold } from './cv-fold';
import { summarizeFolds } from './cv-summary';
import { Slots } from './slots';

/** Activities in flight at once over all folds (k folds × shards can pass Temporal's 2,000 pending activities). */
const ACTIVITY_SLOTS = 400;

/** The failure type of a fold that failed for a reason other than the user's input. */
export const FOLD_FAILED = 'CrossValidationFoldFailed';

/**
 * k-fold cross-validation of the spec's model on the train split: the folds are planned once on the
 * cpu pool (stratified per class for classification, as StratifiedKFold), then all k run in
 * parallel (at most `maxParallelFolds` at once, when given), each refitting the transform, training a child and scoring its held-out rows on the
 * eval pool (runFold). The test split is excluded from every fold. Returns each metric's mean and
 * sample standard deviation over the folds, and every fold's metrics. A fold that fails fails the
 * cross-validation, named, and the other folds are cancelled.
 */
export async function crossValidate(input: CrossValidateInput): Promise<CrossValidationResult> {
  const { spec, dataset, folds: k, stratify, queues, maxParallelFolds = k } = input;
  const problem = crossValidationProblem(k, spec.split);
  if (problem !== null) throw ApplicationFailure.nonRetryable(problem, PIPELINE_INPUT_ERROR);
  if (!Number.isInteger(maxParallelFolds) || maxParallelFolds < 1) {
    throw ApplicationFailure.nonRetryable(`maxParallelFolds is ${maxParallelFolds}: give a whole number of folds, 1 or more`, PIPELINE_INPUT_ERROR);
  }
  // The fold trainings report each epoch to their parent, which is this workflow; a pipeline's
  // progress shows the folds, not their epochs, so the reports are taken and dropped.
  setHandler(epochFinishedSignal, () => undefined);

  const plan = await stageActivities('transform', queues).planFolds.executeWithOptions(
    { summary: `plan ${k} ${stratifies(input) ? 'stratified ' : ''}folds of the train split of ${dataset.rows} rows` },
    [{ spec, dataset, folds: k, stratify }],
  );
  const context = { input, plan, modelName: spec.model.name ?? spec.name, parentId: workflowInfo().workflowId, slots: new Slots(ACTIVITY_SLOTS) };
  // Folds start in index order as slots free up; with a slot per fold (the default) every fold starts
  // at once, in the same activation as before this limit existed, so earlier histories replay alike.
  const foldSlots = new Slots(maxParallelFolds);
  const scope = new CancellationScope();
  let perFold: EvaluationMetrics[];
  try {
    perFold = await scope.run(() =>
      Promise.all(Array.from({ length: k }, (_, index) => namingTheFold(index, k, () => foldSlots.run(() => runFold(context, index))))),
    );
  } catch (err) {
    // The first fold to fail decides; the others' work would be thrown away.
    scope.cancel();
    throw err;
  }
  return { folds: k, stratified: plan.stratified, metrics: summarizeFolds(perFold), perFold };
}

/**
 * A fold's failure as the user should read it: which fold, and what went wrong at the bottom of it.
 * The cause is folded into the message rather than chained, because the pipeline shows the innermost
 * message of a chain, which would drop the fold.
 */
async function namingTheFold<T>(index: number, k: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (isCancellation(err)) throw err;
    const input = isPipelineInputFailure(err);
    throw ApplicationFailure.create({
      message: `cross-validation fold ${index + 1}/${k} failed: ${rootCauseMessage(err)}`,
      type: input ? PIPELINE_INPUT_ERROR : FOLD_FAILED,
      nonRetryable: input,
    });
  }
}

/** Whether the folds will be stratified: asked for, and the label has classes. */
function stratifies({ spec, stratify }: CrossValidateInput): boolean {
  return stratify && !('task' in spec.label && spec.label.task === 'regression');
}

/** Starts cross-validation as a child of the pipeline run `runId` (id `<runId>-cv`) and waits for its result. */
export function crossValidateInChild(runId: string, modelName: string, input: CrossValidateInput): Promise<CrossValidationResult> {
  return executeChild(crossValidate, {
    workflowId: `${runId}-cv`,
    taskQueue: input.queues.orchestrator,
    args: [input],
    staticSummary: `Cross-validate **${modelName}**: ${input.folds} ${stratifies(input) ? 'stratified ' : ''}folds of the train split in parallel, the test split held out`,
    typedSearchAttributes: [{ key: MODEL, value: modelName }],
  });
}
