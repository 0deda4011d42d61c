import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { MODEL, poolQueues, rolloutProgressQuery, rolloutWorkflowId, STAGE, type RolloutResult } from '../../contracts';
import { loadConfig } from '../../lib/config';
import type { rollout } from '../../workflows';
import { cliActor } from './registry-db';
import { connectClient, failureMessage, webUiLink } from '../client/pipeline-client';
import { parseRolloutArgs, rolloutProgressLine, rolloutResultLines, type RolloutFlags } from '../client/rollout-args';
import { resolveTarget } from '../client/target';

/**
 * `pipewright rollout <model> <version>`: starts the rollout workflow (or joins the one running for
 * that version), shows its figures as they come, and prints the outcome. Exit 0 when promoted, 1
 * when rolled back.
 */
export async function rolloutCommand(args: readonly string[], flags: RolloutFlags): Promise<number> {
  const { model, version, policy } = parseRolloutArgs(args, flags);
  const target = await resolveTarget(loadConfig(), false, (l) => console.log(l));
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    const workflowId = rolloutWorkflowId(model, version);
    const handle = await client.workflow.start<typeof rollout>('rollout', {
      taskQueue: poolQueues(target.queuePrefix).orchestrator,
      workflowId,
      // A rollout of this version already running is joined, not started twice.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [{ model, version, policy, queues: poolQueues(target.queuePrefix), actor: cliActor() }],
      staticSummary: `Roll out **${model}** v${version}: ${policy.mode}${policy.mode === 'canary' ? ` ${Math.round(policy.share * 100)}%` : ''} for ${policy.windowSeconds} s`,
      typedSearchAttributes: [
        { key: MODEL, value: model },
        { key: STAGE, value: 'release' },
      ],
    });
    const link = webUiLink(target.uiUrl, target.namespace, workflowId);
    console.log(`Rolling out ${model} v${version} (${policy.mode}) as ${workflowId}${link ? `\n  Web UI: ${link}` : ''}`);
    let done = false;
    const watching = (async () => {
      let last = '';
      while (!done) {
        await new Promise((r) => setTimeout(r, 2000));
        const line = await handle
          .query(rolloutProgressQuery)
          .then(rolloutProgressLine)
          .catch(() => '');
        if (line && line !== last && !done) console.log((last = line));
      }
    })();
    let result: RolloutResult;
    try {
      result = await handle.result();
    } finally {
      done = true;
      await watching;
    }
    for (const line of rolloutResultLines(result)) console.log(line);
    return result.outcome === 'promoted' ? 0 : 1;
  } catch (err) {
    throw new Error(failureMessage(err), { cause: err });
  } finally {
    await client.connection.close();
  }
}
