import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { parseFederatedSpec, type FederatedSpec } from '../../lib/spec/federated-spec';
import { resolveSourcePath, SpecError } from '../../lib/spec/pipeline-spec';
import { runSite } from '../../workers/run-site';
import { startFederatedTraining, watchFederatedTraining } from '../client/federated-client';
import { connectClient, failureMessage, webUiLink } from '../client/pipeline-client';
import { resolveTarget } from '../client/target';
import { UsageError } from '../client/usage-error';
import type { FederatedTrainingResult } from '../../contracts';

const SITE_USAGE = 'pipewright site --name <site>   (with DATABASE_URL, PIPEWRIGHT_HOME and PIPEWRIGHT_FEDERATION_STORE set for the site)';
const RUN_USAGE = 'pipewright federated <spec.json>';

/** `pipewright site --name east`: this machine's data joins federated runs as site "east" (until Ctrl-C). */
export async function siteCommand(name: string | undefined): Promise<number> {
  if (!name) throw new UsageError('site needs --name', SITE_USAGE);
  await runSite(name);
  return 0;
}

export async function readFederatedSpec(file: string): Promise<FederatedSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read spec ${file}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SpecError([`not valid JSON: ${(err as Error).message}`], file);
  }
  const spec = parseFederatedSpec(value, file);
  return { ...spec, pipeline: resolveSourcePath(spec.pipeline, path.dirname(path.resolve(file))) };
}

/** `pipewright federated <spec.json>`: starts the coordinator on the running stack and follows its rounds; the sites must be running. */
export async function federatedCommand(specFile: string | undefined): Promise<number> {
  if (!specFile) throw new UsageError('federated needs a spec file', RUN_USAGE);
  const spec = await readFederatedSpec(specFile);
  const config = loadConfig();
  const target = await resolveTarget(config, false, (l) => console.log(l));
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    const handle = await startFederatedTraining(client, spec, { queuePrefix: target.queuePrefix });
    const link = webUiLink(target.uiUrl, target.namespace, handle.workflowId);
    console.log(`Started ${handle.workflowId}${link ? `\n  Web UI: ${link}` : ''}`);
    console.log(`  sites: ${spec.federated.sites.join(', ')} (each needs \`pipewright site --name <site>\` running)`);
    const result = await watchFederatedTraining(handle, (l) => console.log(l));
    printFederatedResult(result);
    return 0;
  } catch (err) {
    throw new Error(failureMessage(err), { cause: err });
  } finally {
    await client.connection.close();
  }
}

export function printFederatedResult(result: FederatedTrainingResult): void {
  const name = result.rounds.find((r) => r.metric)?.metric?.name ?? 'metric';
  const value = (m: object): string => {
    const v = (m as Record<string, number>)[name];
    return typeof v === 'number' ? v.toFixed(4) : '-';
  };
  console.log(`Global model after ${result.rounds.length} rounds: ${name} ${value(result.metrics)} on ${result.metrics.rows} test rows of every site`);
  for (const [site, m] of Object.entries(result.siteMetrics)) console.log(`  at ${site}: ${name} ${value(m)} (${m.rows} test rows)`);
  for (const l of result.leftOut) console.log(`  left out: ${l.site} (${l.reason})`);
  if (result.privacy) {
    const p = result.privacy;
    console.log(`  privacy: (ε ${p.epsilon.toFixed(2)}, δ ${p.delta}) over ${p.rounds} rounds (noise multiplier ${p.noiseMultiplier}, clip ${p.clipNorm})`);
  }
  console.log(`  model ${result.model.uri}\n  transform ${result.transform.uri}`);
}
