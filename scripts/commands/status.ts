import { loadConfig } from '../../lib/config';
import { federatedProgressQuery, progressQuery } from '../../contracts';
import { roundLine } from '../client/federated-client';
import { connectClient, webUiLink } from '../client/pipeline-client';
import { formatClassMetrics, formatMetrics } from '../../lib/evaluation/metrics-summary';
import { renderProgress } from '../client/progress-view';
import { trainingInFlight } from '../client/training-activity';
import { resolveTarget } from '../client/target';

/** `pipewright status <run-id>`: stage, progress and metrics, from the workflow's progress query. */
export async function statusCommand(runId: string | undefined): Promise<number> {
  if (!runId)
    throw new Error('usage: pipewright status <run-id>   (the run id is the workflow id printed by `pipewright run`, e.g. flights-20261125-061500-123)');
  const config = loadConfig();
  const target = await resolveTarget(config, false, () => undefined);
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    const handle = client.workflow.getHandle(runId);
    const description = await handle.describe().catch((err: unknown) => {
      throw new Error(`no run "${runId}" in namespace ${target.namespace}: ${(err as Error).message}`);
    });
    if (description.type === 'federatedTraining') {
      const f = await handle.query(federatedProgressQuery);
      console.log(`${runId}: ${description.status.name} · ${f.phase}${f.phase === 'train' ? ` · round ${f.round}/${f.rounds}` : ''}`);
      for (const [site, s] of Object.entries(f.sites))
        console.log(`  site ${site}: ${s.status}${s.rows !== undefined ? `, ${s.rows} rows` : ''}${s.note ? ` (${s.note})` : ''}`);
      for (const r of f.history) console.log(`  ${roundLine(r, f.rounds)}`);
      if (f.privacy) console.log(`  privacy: (ε ${f.privacy.epsilon.toFixed(2)}, δ ${f.privacy.delta}) over ${f.privacy.rounds} rounds`);
      if (f.error) console.log(`  error: ${f.error}`);
      const link = webUiLink(target.uiUrl, target.namespace, runId);
      if (link) console.log(`  Web UI: ${link}`);
      return description.status.name === 'FAILED' ? 1 : 0;
    }
    const progress = await handle.query(progressQuery);
    console.log(`${runId}: ${description.status.name} · stage ${progress.stage}`);
    const live = progress.stage === 'train' ? await trainingInFlight(client.workflow, runId).catch(() => undefined) : undefined;
    for (const line of renderProgress(progress, live)) console.log(`  ${line}`);
    if (progress.rows !== undefined) console.log(`  rows: ${progress.rows} ingested, ${progress.quarantinedRows ?? 0} quarantined`);
    if (progress.trainLoss?.length)
      console.log(`  train loss by epoch: ${progress.trainLoss.map((l) => l.toFixed(4)).join(', ')} (backend ${progress.backend})`);
    if (progress.validationLoss?.length) console.log(`  validation loss by epoch: ${progress.validationLoss.map((l) => l.toFixed(4)).join(', ')}`);
    if (progress.metrics) {
      console.log(`  metrics: ${formatMetrics(progress.metrics)}`);
      for (const line of formatClassMetrics(progress.metrics)) console.log(`    ${line}`);
    }
    if (progress.modelVersion !== undefined) console.log(`  model: ${progress.model} v${progress.modelVersion}`);
    if (progress.error) console.log(`  error: ${progress.error}`);
    const link = webUiLink(target.uiUrl, target.namespace, runId);
    if (link) console.log(`  Web UI: ${link}`);
    return description.status.name === 'FAILED' ? 1 : 0;
  } finally {
    await client.connection.close();
  }
}
