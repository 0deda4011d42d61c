import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../lib/config';
import { parsePipelineSpecText, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { connectClient, failureMessage, startTrainingPipeline, watchPipeline, webUiLink } from '../client/pipeline-client';
import { printResult } from '../client/print';
import { resolveTarget, type Target } from '../client/target';
import type { TrainingPipelineResult } from '../../workflows/training-pipeline';

export async function readSpecFile(file: string): Promise<PipelineSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read spec ${file}: ${(err as Error).message}`);
  }
  return parsePipelineSpecText(text, file);
}

/** Starts the pipeline on `target`, shows progress, prints the outcome. */
export async function runOnTarget(target: Target, spec: PipelineSpec): Promise<TrainingPipelineResult> {
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    const handle = await startTrainingPipeline(client, spec);
    const link = webUiLink(target.uiUrl, target.namespace, handle.workflowId);
    console.log(`Started ${handle.workflowId}${link ? `\n  Web UI: ${link}` : ''}`);
    const result = await watchPipeline(handle);
    printResult(result, link);
    return result;
  } catch (err) {
    throw new Error(failureMessage(err));
  } finally {
    await client.connection.close();
  }
}

/** `pipewright run <spec.json>`. */
export async function runCommand(specFile: string | undefined, options: { limit?: number }): Promise<number> {
  if (!specFile) throw new Error('usage: pipewright run <spec.json> [--limit N]');
  const spec = await readSpecFile(specFile);
  if (options.limit !== undefined) spec.source.limit = options.limit;
  const config = loadConfig();
  const target = await resolveTarget(config, true, (l) => console.log(l));
  try {
    await runOnTarget(target, spec);
    return 0;
  } finally {
    await target.ownStack?.stop();
  }
}
