import { ParentClosePolicy, startChild, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ALERT, MODEL, PIPELINE, retrainWorkflowId, STAGE, type MonitorModelInput, type MonitorModelResult, type RetrainAction } from '../../contracts';
import type { trainingPipeline } from '../training-pipeline';
import { stageActivities } from '../support/stage-activities';

/** Longest PipewrightAlert value: a Keyword is for filtering, the whole reason is in the memo and the alert row. */
const ALERT_ATTRIBUTE_CHARS = 200;

/**
 * One monitoring check, as a Temporal Schedule starts it: the production version's serving window
 * against its training statistics (drift per column) and, where labels arrived, its live metric.
 * On a breach it sets `PipewrightAlert` and the memo, starts the retraining pipeline as a child with
 * the fixed id `<model>-retrain` that outlives this run (ABANDON), and records the alert. A
 * retraining run already going on is left alone: never two at once.
 */
export async function monitorModel(input: MonitorModelInput): Promise<MonitorModelResult> {
  const info = workflowInfo();
  const { monitor, retrain } = input;
  const until = input.until ?? info.runStartTime.toISOString();
  const activities = stageActivities('monitor', retrain.queues);
  upsertSearchAttributes([{ key: MODEL, value: monitor.model }]);

  const report = await activities.checkServingDrift({ monitor, until });
  if (report.verdict !== 'drift' && report.verdict !== 'performance') {
    upsertMemo({ check: report.reason });
    return { report, retrain: { status: 'not_needed' }, summary: `${monitor.model} v${report.version}: ${report.reason}` };
  }

  const kind = report.verdict;
  upsertSearchAttributes([{ key: ALERT, value: report.reason.slice(0, ALERT_ATTRIBUTE_CHARS) }]);
  upsertMemo({ alert: report.reason });

  const workflowId = retrainWorkflowId(monitor.model);
  const { spec } = retrain;
  let action: RetrainAction;
  try {
    const child = await startChild<typeof trainingPipeline>('trainingPipeline', {
      workflowId,
      taskQueue: retrain.queues.orchestrator,
      args: [retrain],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Retrain **${monitor.model}** after ${kind}: ${report.reason.slice(0, ALERT_ATTRIBUTE_CHARS)}`,
      typedSearchAttributes: [
        { key: PIPELINE, value: spec.name },
        { key: MODEL, value: spec.model.name ?? spec.name },
        { key: STAGE, value: 'queued' },
      ],
    });
    action = { status: 'started', workflowId, runId: child.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    action = { status: 'already_running', workflowId };
  }

  const { id } = await activities.recordAlert({
    model: monitor.model,
    version: report.version,
    kind,
    reason: report.reason,
    details: report,
    monitorWorkflowId: info.workflowId,
    retrainWorkflowId: workflowId,
  });
  const did = action.status === 'started' ? `started retraining ${workflowId}` : `retraining ${workflowId} is already running; not starting another`;
  return { report, alert: { id, kind, reason: report.reason }, retrain: action, summary: `${monitor.model} v${report.version}: ${report.reason}; ${did}` };
}
