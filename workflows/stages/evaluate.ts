import { ActivityFailure } from '@temporalio/workflow';
import {
  isPipelineInputFailure,
  rootCauseMessage,
  type ArtifactRef,
  type Blessing,
  type CrossValidationResult,
  type DatasetRef,
  type EncodedShardRef,
  type EvaluateResult,
  type EvaluationMetrics,
  type EvaluationStepResult,
  type ImportanceResult,
  type ModelRef,
  type PoolQueues,
  type StepReuse,
  type TransformRef,
} from '../../contracts';
import type { StepEntry } from '../../lib/cache/step-cache';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { judgeBlessing, type BaselineOutcome } from '../support/blessing';
import { asEvaluationStep, metricsTask } from '../support/evaluation-results';
import { stageActivities } from '../support/stage-activities';
import type { StageHandle } from '../support/stage-tracker';

export interface EvaluateStageInput {
  spec: PipelineSpec;
  modelName: string;
  dataset: DatasetRef;
  model: ModelRef;
  transform: TransformRef;
  encoded: EncodedShardRef[];
  steps: StepReuse;
  /** The run's computed steps, for the step cache: the evaluation is added to it. */
  computed: StepEntry[];
  queues: PoolQueues;
  /** False when replaying a run from before per-shard states: its single evaluation activity, and no blessing. */
  perShardStates: boolean;
  /** Cross-validation started beside training, awaited in this stage. */
  crossValidating?: Promise<CrossValidationResult>;
}

export interface EvaluateStageResult {
  evaluation: EvaluationOutcome;
  crossValidation?: CrossValidationResult;
  blessing?: Blessing;
}

/**
 * The evaluate stage: the candidate's metrics, report and importance (or the step cache's), then
 * cross-validation's figures when the spec asks for folds, then the blessing (with production
 * scored on the same rows when a threshold compares with it). Units: the shards and the merge (one
 * when reused), the folds, the blessing.
 */
export async function evaluateStage(input: EvaluateStageInput, stage: StageHandle): Promise<EvaluateStageResult> {
  stage.setTotal((input.steps.evaluate ? 1 : input.encoded.length + 1) + (input.crossValidating ? 1 : 0) + (input.perShardStates ? 1 : 0));
  const evaluation = await evaluateCandidate(input, stage);
  const crossValidation = input.crossValidating ? await input.crossValidating : undefined;
  if (crossValidation) stage.tick();
  let blessing: Blessing | undefined;
  if (input.perShardStates) {
    const { spec, modelName, dataset, transform, encoded, queues } = input;
    blessing = await blessCandidate(spec, modelName, evaluation.metrics, dataset, transform, encoded, queues);
    stage.tick();
  }
  return { evaluation, ...(crossValidation ? { crossValidation } : {}), ...(blessing ? { blessing } : {}) };
}

/** The evaluate step's result; runs before per-shard states have no report. */
export type EvaluationOutcome = ReturnType<typeof asEvaluationStep>;

async function evaluateCandidate(input: EvaluateStageInput, stage: StageHandle): Promise<EvaluationOutcome> {
  const { spec, model, transform, encoded, steps, queues } = input;
  if (steps.evaluate) {
    stage.reused('evaluation', steps.evaluate.runId);
    return asEvaluationStep(steps.evaluate.result);
  }
  let evaluated: EvaluationStepResult | EvaluateResult;
  if (input.perShardStates) {
    const scored = await evaluateOnShards(queues, 'candidate', model, transform, encoded, spec.evaluation?.slices ?? [], undefined, () => stage.tick());
    const importance = await importanceOf(spec, queues, model, transform, encoded);
    evaluated = { ...scored, ...(importance ? { importance } : {}) };
  } else {
    evaluated = await stageActivities('evaluate', queues).evaluateModel.executeWithOptions(
      { summary: `${'task' in spec.label ? spec.label.task : 'binary'} metrics on the held-out test split` },
      [{ model, transform, shards: encoded }],
    );
  }
  input.computed.push({ key: steps.keys.evaluate, step: 'evaluate', result: evaluated });
  return asEvaluationStep(evaluated);
}

/** The blessing of the candidate: the spec's thresholds, with production measured on the same test rows when a threshold compares with it. */
export async function blessCandidate(
  spec: PipelineSpec,
  modelName: string,
  metrics: EvaluationMetrics,
  dataset: DatasetRef,
  transform: TransformRef,
  encoded: EncodedShardRef[],
  queues: PoolQueues,
): Promise<Blessing> {
  const baseline = comparesWithProduction(spec) ? await evaluateProduction(modelName, dataset, transform, encoded, queues) : undefined;
  return judgeBlessing(metricsTask(metrics), spec.evaluation?.blessing?.thresholds ?? [], metrics, baseline);
}

/**
 * Scores each shard's test rows on the eval pool in parallel, each into a mergeable metric state,
 * and merges the states in partition order into the metrics and the report (curves, thresholds,
 * calibration, slices). `testRowsOf` (a baseline's evaluation) names, per shard, this run's encoding
 * of the same raw shard, whose test rows are the ones scored.
 */
export async function evaluateOnShards(
  queues: PoolQueues,
  who: string,
  model: ModelRef,
  transform: TransformRef,
  shards: EncodedShardRef[],
  slices: NonNullable<PipelineSpec['evaluation']>['slices'],
  testRowsOf?: EncodedShardRef[],
  onShard: () => void = () => undefined,
): Promise<{ metrics: EvaluationMetrics; report: ArtifactRef; backend: string }> {
  const { evaluateShard, mergeEvaluation } = stageActivities('evaluate', queues);
  const ordered = [...shards].sort((a, b) => a.partition - b.partition);
  const rowsOf = new Map((testRowsOf ?? []).map((s) => [s.partition, s]));
  const states = await Promise.all(
    ordered.map(async (shard) => {
      const flags = rowsOf.get(shard.partition);
      const state = await evaluateShard.executeWithOptions({ summary: `${who}: score the test rows of shard ${shard.partition}` }, [
        { model, transform, shard, slices: slices.map((s) => s.feature), ...(flags ? { testRowsOf: flags } : {}) },
      ]);
      onShard();
      return state;
    }),
  );
  const merged = await mergeEvaluation.executeWithOptions({ summary: `${who}: merge ${states.length} shard metric states` }, [
    { transform, states: states.map(({ backend: _backend, ...ref }) => ref), slices },
  ]);
  return { ...merged, backend: states[0]?.backend ?? model.backend };
}

/** Permutation importance of the candidate on (a sample of) its test split, when the spec asks for it. */
export function importanceOf(
  spec: PipelineSpec,
  queues: PoolQueues,
  model: ModelRef,
  transform: TransformRef,
  shards: EncodedShardRef[],
): Promise<ImportanceResult | undefined> {
  const settings = spec.evaluation?.importance;
  if (!settings) return Promise.resolve(undefined);
  return stageActivities('evaluate', queues).permutationImportance.executeWithOptions(
    { summary: `permutation importance: ${settings.repeats} shuffles per feature on up to ${settings.maxRows} test rows` },
    [{ model, transform, shards, repeats: settings.repeats, maxRows: settings.maxRows, seed: settings.seed }],
  );
}

/** Whether any blessing threshold compares with production (then the production model is evaluated too). */
export function comparesWithProduction(spec: PipelineSpec): boolean {
  return (spec.evaluation?.blessing?.thresholds ?? []).some((t) => t.vsProduction !== undefined);
}

/**
 * The production model measured on this run's test rows: its own transform applied to the same raw
 * shards (cpu pool; reused when it is this run's transform), then scored on the rows this run holds
 * out. A production model that cannot be measured here (a column it reads is gone, another label,
 * a class it never saw) is reported as incomparable with the reason, not as a failed run.
 */
export async function evaluateProduction(
  modelName: string,
  dataset: DatasetRef,
  transform: TransformRef,
  encoded: EncodedShardRef[],
  queues: PoolQueues,
): Promise<BaselineOutcome> {
  const lookup = await stageActivities('registry', queues).productionBaseline.executeWithOptions({ summary: `find the production version of ${modelName}` }, [
    { name: modelName, dataset, transform },
  ]);
  if ('none' in lookup) return undefined;
  if ('incomparable' in lookup) return { version: lookup.incomparable.version, incomparable: lookup.incomparable.reason };
  const baseline = lookup.comparable;
  const who = `production v${baseline.version}`;
  try {
    const sameTransform = baseline.transform.sha256 === transform.sha256;
    const shards = sameTransform
      ? encoded
      : await Promise.all(
          dataset.shards.map((shard) =>
            stageActivities('transform', queues).applyTransform.executeWithOptions({ summary: `${who}: apply its transform to shard ${shard.partition}` }, [
              { transform: baseline.transform, shard },
            ]),
          ),
        );
    const { metrics } = await evaluateOnShards(queues, who, baseline.model, baseline.transform, shards, [], sameTransform ? undefined : encoded);
    return { version: baseline.version, metrics };
  } catch (err) {
    // A user-level mismatch (e.g. a class the production model has no output for) makes the figures incomparable; anything else fails the run.
    if (err instanceof ActivityFailure && isPipelineInputFailure(err)) return { version: baseline.version, incomparable: rootCauseMessage(err) };
    throw err;
  }
}
