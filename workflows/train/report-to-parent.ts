import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { epochFinishedSignal, type EpochFinished } from '../../contracts';

/** Tells the pipeline that started this training how it is going, for its progress; a standalone run has no one to tell. */
export async function reportToParent(report: EpochFinished): Promise<void> {
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(epochFinishedSignal, report);
}
