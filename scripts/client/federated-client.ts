import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { federatedProgressQuery, poolQueues, siteTaskQueue, type FederatedProgress, type FederatedRound, type FederatedTrainingResult } from '../../contracts';
import type { FederatedSpec } from '../../lib/spec/federated-spec';
import type { federatedTraining } from '../../workflows/federated/federated-training';
import { workflowIdFor } from './pipeline-client';

/** Starts the coordinator workflow on the orchestrator pool; each site's steps go to its own queue under the same prefix. */
export async function startFederatedTraining(
  client: Client,
  { pipeline, federated }: FederatedSpec,
  options: { queuePrefix?: string; workflowId?: string } = {},
): Promise<WorkflowHandle<typeof federatedTraining>> {
  const queues = poolQueues(options.queuePrefix);
  const siteQueues = Object.fromEntries([...federated.sites, ...federated.evaluationSites].map((s) => [s, siteTaskQueue(s, options.queuePrefix)]));
  const privacy = federated.privacy ? `, DP (σ ${federated.privacy.noiseMultiplier}, clip ${federated.privacy.clipNorm})` : '';
  return client.workflow.start<typeof federatedTraining>('federatedTraining', {
    taskQueue: queues.orchestrator,
    workflowId: options.workflowId ?? workflowIdFor(pipeline),
    args: [{ spec: pipeline, federated, queues, siteQueues }],
    staticSummary: `Federated **${pipeline.name}** (${federated.strategy.kind}, ${federated.rounds} rounds over ${federated.sites.join(', ')}${privacy}${federated.secureAggregation ? ', secure aggregation' : ''})`,
  });
}

/** Waits for the run, printing each round as it ends (who took part, loss, metric) when `print` is given. */
export async function watchFederatedTraining(
  handle: WorkflowHandle<typeof federatedTraining>,
  print?: (line: string) => void,
): Promise<FederatedTrainingResult> {
  let shown = 0;
  let phase = '';
  let done = false;
  const show = (p: FederatedProgress): void => {
    if (!print) return;
    if (p.phase !== phase) {
      phase = p.phase;
      if (phase === 'prepare' || phase === 'transform')
        print(`  ${phase === 'prepare' ? 'preparing the sites (ingest, validate, statistics)' : 'agreeing the transform'}`);
    }
    for (const round of p.history.slice(shown)) print(`  ${roundLine(round, p.rounds)}`);
    shown = p.history.length;
  };
  const poll = async (): Promise<void> => {
    while (!done) {
      try {
        show(await handle.query(federatedProgressQuery));
      } catch {
        // The first workflow task may not have run yet.
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const polling = poll();
  try {
    const result = await handle.result();
    done = true;
    await polling;
    for (const round of result.rounds.slice(shown)) print?.(`  ${roundLine(round, result.rounds.length)}`);
    return result;
  } finally {
    done = true;
  }
}

export function roundLine(r: FederatedRound, rounds: number): string {
  const head = `round ${String(r.round).padStart(String(rounds).length)}/${rounds}`;
  const left = r.leftOut.length ? `  left out: ${r.leftOut.map((l) => `${l.site} (${l.reason})`).join('; ')}` : '';
  if (r.skipped) return `${head}  skipped: ${r.skipped}`;
  const metric = r.metric ? `  ${r.metric.name} ${fmt(r.metric.value)}` : '';
  const sites = r.siteMetric
    ? `  [${Object.entries(r.siteMetric)
        .map(([s, v]) => `${s} ${fmt(v)}`)
        .join(', ')}]`
    : '';
  return `${head}  sites ${r.used.join(',')}  loss ${fmt(r.loss ?? Number.NaN)}${metric}${sites}  ${r.seconds.toFixed(1)} s${left}`;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}

/** Waits until every site's queue has a worker polling it for activities (the demo starts its sites just before its runs). */
export async function waitForSites(client: Client, sites: readonly string[], queuePrefix: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const site of sites) {
    const queue = siteTaskQueue(site, queuePrefix);
    for (;;) {
      const res = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: queue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      if ((res.pollers ?? []).length > 0) break;
      if (Date.now() > deadline)
        throw new Error(`no worker polls ${queue} after ${timeoutMs / 1000} s: is \`pipewright site --name ${site}\` running? (see its log)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
