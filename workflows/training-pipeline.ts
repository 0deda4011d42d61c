import { CancellationScope, workflowInfo } from '@temporalio/workflow';
import type { TrainingPipelineInput, TrainingPipelineResult } from '../contracts';
import { ingestSource } from './stages/ingest';
import { transformDataset } from './stages/transform';
import { stageActivities } from './support/stage-activities';
import { StageTracker } from './support/stage-tracker';
import { trainInChild } from './train/train-model';

/**
 * ingest → validate → transform → train → evaluate → register → deploy: each stage runs as
 * activities on its pool (training as a child workflow) and passes references (URIs, hashes,
 * counts) to the next while the data stays in the artifact store. A worker that dies mid-step loses that step
 * only: Temporal retries it, and training resumes from the last epoch's checkpoint.
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

    const { model, losses } = await tracker.stage('train', spec.model.epochs, 'epochs', async (stage) => {
      if (steps.train) {
        stage.setTotal(1);
        stage.reused('trained model', steps.train.runId);
        return steps.train.result;
      }
      const trained = await trainInChild(runId, modelName, { model: spec.model, transform, shards: encoded, queues });
      computed.push({ key: steps.keys.train, step: 'train', result: trained });
      return trained;
    });
    tracker.update({ trainLoss: losses, backend: model.backend });

    const { backend: _evalBackend, ...metrics } = await tracker.stage('evaluate', 1, 'test sets', async (stage) => {
      if (steps.evaluate) {
        stage.reused('evaluation', steps.evaluate.runId);
        return steps.evaluate.result;
      }
      const evaluated = await stageActivities('evaluate', queues).evaluateModel.executeWithOptions(
        { summary: `${'task' in spec.label ? spec.label.task : 'binary'} metrics on the held-out test split` },
        [{ model, transform, shards: encoded }],
      );
      computed.push({ key: steps.keys.evaluate, step: 'evaluate', result: evaluated });
      return evaluated;
    });
    tracker.update({ metrics });

    const registered = await tracker.stage('register', 1, 'versions', () =>
      registry.registerModel.executeWithOptions({ summary: `register ${modelName}` }, [
        { name: modelName, runId, model, transform, metrics, datasetSha256: dataset.sha256, spec, computedSteps: computed },
      ]),
    );
    tracker.update({ modelVersion: registered.version });

    const deployed = await tracker.stage('deploy', 1, 'deployments', () =>
      stageActivities('deploy', queues).deployModel.executeWithOptions({ summary: `deploy ${modelName} v${registered.version}` }, [registered]),
    );

    tracker.finish();
    await registry.recordRunFinished({ runId, status: 'succeeded', metrics, stageSeconds: tracker.stageSeconds() });
    const { rows, quarantinedRows, validation } = dataset;
    return {
      runId,
      model: deployed,
      metrics,
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
