import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { epochFinishedSignal, type EpochFinished } from '../../contracts';

/**
 * Tells the workflow that started this training how it is going: a pipeline, for its progress, or
 * a hyperparameter search, which needs the sender's workflow id to know which trial reported. A
 * standalone run has no one to tell.
 */
export async function reportToParent(report: EpochFinished): Promise<void> {
  const { parent, workflowId } = workflowInfo();
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(epochFinishedSignal, { ...report, workflowId });
}
