import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { parsePipelineSpecText, resolveSourcePath, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import { connectClient, failureMessage, startTrainingPipeline, watchPipeline, webUiLink } from '../client/pipeline-client';
import { onInterrupt } from '../client/interrupt';
import { printResult } from '../client/print';
import { resolveTarget, type Target } from '../client/target';
import type { TrainingPipelineResult } from '../../contracts';

export async function readSpecFile(file: string): Promise<PipelineSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read spec ${file}: ${(err as Error).message}`, { cause: err });
  }
  return resolveSourcePath(parsePipelineSpecText(text, file), path.dirname(path.resolve(file)));
}

/** Starts the pipeline on `target`, shows progress, prints the outcome. */
export async function runOnTarget(target: Target, spec: PipelineSpec, options: { reuseSteps?: boolean } = {}): Promise<TrainingPipelineResult> {
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    const handle = await startTrainingPipeline(client, spec, { queuePrefix: target.queuePrefix, ...options });
    const link = webUiLink(target.uiUrl, target.namespace, handle.workflowId);
    console.log(`Started ${handle.workflowId}${link ? `\n  Web UI: ${link}` : ''}`);
    const disarm = onInterrupt(() => leaveRunning(handle.workflowId, link, target));
    try {
      const result = await watchPipeline(handle);
      printResult(result, link);
      return result;
    } finally {
      disarm();
    }
  } catch (err) {
    throw new Error(failureMessage(err), { cause: err });
  } finally {
    await client.connection.close();
  }
}

/**
 * Ctrl-C while a run is watched stops the watching, not the run: it is durable in Temporal. Says
 * how to follow or cancel it; a stack this command started is stopped, and the run waits in the
 * dev server's database until the next `pipewright up` for the same home picks it up.
 */
async function leaveRunning(runId: string, link: string | undefined, target: Target): Promise<void> {
  console.log(`\nStopped watching. Run ${runId} goes on in Temporal:`);
  console.log(`  follow it   pipewright status ${runId}${link ? `  or  ${link}` : ''}`);
  console.log(`  cancel it   pipewright cancel ${runId}`);
  if (target.ownStack) {
    console.log('Stopping the stack this command started; the run resumes where it stopped when `pipewright up` runs for this PIPEWRIGHT_HOME.');
    await target.ownStack.stop();
  }
}

/** `pipewright run <spec.json>`. */
export async function runCommand(specFile: string | undefined, options: { limit?: number; noCache?: boolean }): Promise<number> {
  if (!specFile) throw new Error('usage: pipewright run <spec.json> [--limit N] [--no-cache]');
  const spec = await readSpecFile(specFile);
  if (options.limit !== undefined) {
    if (spec.source.kind !== 'postgres')
      throw new Error(`--limit reads the first rows of a PostgreSQL table by its key; ${specFile} reads a ${spec.source.kind} file`);
    spec.source.limit = options.limit;
  }
  const config = loadConfig();
  const target = await resolveTarget(config, true, (l) => console.log(l));
  try {
    await runOnTarget(target, spec, { reuseSteps: !options.noCache });
    return 0;
  } finally {
    await target.ownStack?.stop();
  }
}
