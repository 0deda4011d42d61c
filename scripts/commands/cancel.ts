import { loadConfig } from '../../lib/config';
import { connectClient } from '../client/pipeline-client';
import { resolveTarget } from '../client/target';

/**
 * `pipewright cancel <run-id>`: asks Temporal to cancel the run. Its running steps are cancelled
 * (activities stop at their next heartbeat), the run is recorded as cancelled, and it ends CANCELLED.
 */
export async function cancelCommand(runId: string | undefined): Promise<number> {
  if (!runId) throw new Error('usage: pipewright cancel <run-id>   (the run id is the workflow id printed by `pipewright run`)');
  const target = await resolveTarget(loadConfig(), false, () => undefined);
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    const handle = client.workflow.getHandle(runId);
    const description = await handle.describe().catch((err: unknown) => {
      throw new Error(`no run "${runId}" in namespace ${target.namespace}: ${(err as Error).message}`);
    });
    if (description.status.name !== 'RUNNING') {
      console.log(`${runId} is already ${description.status.name}; nothing to cancel.`);
      return 0;
    }
    await handle.cancel();
    console.log(`Cancellation requested for ${runId}; its running steps stop and the run ends CANCELLED. Follow it with \`pipewright status ${runId}\`.`);
    return 0;
  } finally {
    await client.connection.close();
  }
}
