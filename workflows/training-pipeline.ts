import { CancellationScope, patched, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { DeployResult, SearchResult, TrainingPipelineInput, TrainingPipelineResult } from '../contracts';
import { headlineOfFolds, metricsTask, searchSummary, trainingCurves } from './support/evaluation-results';
import { searchInChild } from './tune/hyperparameter-search';
import { planTrials } from './tune/sample-trials';
import { crossValidateInChild } from './evaluate/cross-validate';
import { evaluateStage } from './stages/evaluate';
import { ingestSource } from './stages/ingest';
import { transformDataset } from './stages/transform';
import { stageActivities } from './support/stage-activities';
import { StageTracker } from './support/stage-tracker';
import { trainInChild } from './train/train-model';

/** Marks histories that evaluate per shard into mergeable states and bless; older ones replay the single evaluation. */
export const EVALUATION_STATES_PATCH = 'evaluation-states-and-blessing';

/**
 * ingest → validate → transform → train → evaluate → register → deploy: each stage runs as
 * activities on its pool and passes references (URIs, hashes, counts) to the next while the data
 * stays in the artifact store. Training is a child workflow (or a hyperparameter search whose trials
 * are); cross-validation, when asked for, is a child that trains its folds beside it. Evaluate ends
 * with the blessing, and only a blessed model is deployed. A worker that dies mid-step loses that
 * step only: Temporal retries it, and training resumes from its last checkpoint.
 */
export async function trainingPipeline({ spec, queues, reuseSteps = true }: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  const { workflowId: runId, runId: temporalRunId } = workflowInfo();
  const modelName = spec.model.name ?? spec.name;
  const registry = stageActivities('registry', queues);
  const tracker = new StageTracker(spec.name, modelName);

  try {
    await registry.recordRunStarted({ runId, temporalRunId, pipeline: spec.name, spec });
    const shards = await tracker.stage('ingest', spec.source.partitions, 'partitions', (stage) => ingestSource(spec, queues, stage));

    const { dataset, steps } = await tracker.stage('validate', 1, 'checks', () =>
      stageActivities('validate', queues).checkDataset.executeWithOptions(
        { summary: `statistics, schema and drift checks, quarantine threshold${reuseSteps ? '; step cache lookup' : ''}` },
        [{ runId, spec, shards, reuseSteps }],
      ),
    );
    tracker.update({ rows: dataset.rows, quarantinedRows: dataset.quarantinedRows, validationWarnings: dataset.validation.warnings });

    const { transform, encoded, computed } = await tracker.stage('transform', dataset.shards.length + 1, 'shards', (stage) =>
      transformDataset(spec, dataset, steps, queues, stage),
    );

    // Cross-validation needs only the dataset: its folds train beside the final model and are awaited in evaluate.
    const folds = spec.evaluation?.crossValidation;
    const crossValidating = folds
      ? crossValidateInChild(runId, modelName, { spec, dataset, folds: folds.folds, stratify: folds.stratify ?? true, queues })
      : undefined;
    crossValidating?.catch(() => undefined); // awaited (and its failure thrown) in the evaluate stage

    let search: SearchResult | undefined;
    // A search counts trials (shown when it ends); plain training counts epochs as the child reports them.
    const [trainUnits, trainUnit] = spec.tuning ? [planTrials(spec.tuning).length, 'trials'] : [spec.model.epochs, 'epochs'];
    const trained = await tracker.stage('train', trainUnits, trainUnit, async (stage) => {
      if (steps.train) {
        stage.setTotal(1);
        stage.reused('trained model', steps.train.runId);
        return steps.train.result;
      }
      // With a search, the model is the best trial's; its trials are recorded with the version.
      if (spec.tuning) {
        search = await searchInChild(runId, modelName, { model: spec.model, tuning: spec.tuning, transform, shards: encoded, queues });
        computed.push({ key: steps.keys.train, step: 'train', result: search.best.result });
        return search.best.result;
      }
      const trained = await trainInChild(runId, modelName, { model: spec.model, transform, shards: encoded, queues });
      computed.push({ key: steps.keys.train, step: 'train', result: trained });
      return trained;
    });
    const { model, losses } = trained;
    tracker.update({ trainLoss: losses, backend: model.backend, ...(search ? { search: searchSummary(search) } : {}) });

    const perShardStates = patched(EVALUATION_STATES_PATCH);
    const { evaluation, crossValidation, blessing } = await tracker.stage('evaluate', encoded.length + 1, 'steps', (stage) =>
      evaluateStage({ spec, modelName, dataset, model, transform, encoded, steps, computed, queues, perShardStates, crossValidating }, stage),
    );
    const { metrics } = evaluation;
    tracker.update({ metrics, ...(crossValidation ? { crossValidation: headlineOfFolds(crossValidation, metricsTask(metrics)) } : {}) });
    if (blessing) {
      tracker.update({ blessing: { blessed: blessing.blessed, reason: blessing.reason } });
      upsertMemo({ blessing: blessing.reason });
    }

    const registered = await tracker.stage('register', 1, 'versions', () =>
      registry.registerModel.executeWithOptions({ summary: `register ${modelName}${blessing ? (blessing.blessed ? ' (blessed)' : ' (not blessed)') : ''}` }, [
        {
          name: modelName,
          runId,
          model,
          transform,
          metrics,
          datasetSha256: dataset.sha256,
          spec,
          computedSteps: computed,
          ...(evaluation.report ? { evaluation: evaluation.report } : {}),
          ...(evaluation.importance ? { importance: evaluation.importance } : {}),
          ...(blessing ? { blessing } : {}),
          ...(crossValidation ? { crossValidation } : {}),
          ...(search ? { search: searchSummary(search) } : {}),
          ...(perShardStates ? { training: trainingCurves(trained) } : {}),
        },
      ]),
    );
    tracker.update({ modelVersion: registered.version });

    const deployed: DeployResult =
      blessing && !blessing.blessed
        ? (tracker.skip('deploy', blessing.reason), { ...registered, servedBy: null })
        : await tracker.stage('deploy', 1, 'deployments', () =>
            stageActivities('deploy', queues).deployModel.executeWithOptions({ summary: `deploy ${modelName} v${registered.version}` }, [
              { ...registered, ...(blessing ? { reason: blessing.reason, runId } : {}) },
            ]),
          );

    tracker.finish();
    await registry.recordRunFinished({ runId, status: 'succeeded', metrics, stageSeconds: tracker.stageSeconds() });
    const { rows, quarantinedRows, validation } = dataset;
    return {
      runId,
      model: deployed,
      metrics,
      ...(blessing ? { blessing, deployed: blessing.blessed } : {}),
      ...(crossValidation ? { crossValidation } : {}),
      ...(search ? { search: searchSummary(search) } : {}),
      backend: model.backend,
      rows,
      quarantinedRows,
      validationWarnings: validation.warnings,
      stageSeconds: tracker.stageSeconds(),
    };
  } catch (err) {
    const { status, stage, message, failure } = tracker.fail(err);
    // Recorded even when the run was cancelled, so the run log never shows it as still running.
    await CancellationScope.nonCancellable(() =>
      registry.recordRunFinished({ runId, status, metrics: { error: message, stage }, stageSeconds: tracker.stageSeconds() }),
    );
    throw failure;
  }
}
