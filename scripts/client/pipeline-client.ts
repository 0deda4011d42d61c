import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import {
  MODEL,
  PIPELINE,
  poolQueues,
  progressQuery,
  rootCauseMessage,
  STAGE,
  type PipelineProgress,
  type TrainingPipelineInput,
  type TrainingPipelineResult,
} from '../../contracts';
import { dataConverterFor } from '../../contracts/payload-codec';
import { loadConfig, type PipewrightConfig } from '../../lib/config';
import { securityHint, temporalSecurity } from '../../lib/connection/temporal-security';
import { describeSource, type PipelineSpec } from '../../lib/spec/pipeline-spec';
import type { trainingPipeline } from '../../workflows';
import { trainingInFlight } from './training-activity';
import { ProgressPrinter } from './progress-view';

/**
 * A client of the cluster at `address`, with this process's TLS or API key settings and its payload
 * codec (a client without the pools' keys could neither start a run they can read nor read results).
 */
export async function connectClient(
  address: string,
  namespace: string,
  config: Pick<PipewrightConfig, 'temporalAuth' | 'payloadKeys'> = loadConfig(),
): Promise<Client> {
  const dataConverter = dataConverterFor(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 10_000, ...temporalSecurity(config.temporalAuth) });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${address} (${(err as Error).message}); run \`pipewright up\`, or set TEMPORAL_ADDRESS to a running server.${securityHint(config.temporalAuth)}`,
      { cause: err },
    );
  }
  return new Client({ connection, namespace, dataConverter });
}

/** flights-20261125-061500: what it is, and when. */
export function workflowIdFor(spec: PipelineSpec, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${spec.name}-${stamp}-${String(now.getUTCMilliseconds()).padStart(3, '0')}`;
}

export interface StartOptions {
  /** Task-queue prefix of the pools that should run it (PIPEWRIGHT_QUEUE_PREFIX; default `pipewright-`). */
  queuePrefix?: string;
  /** false: compute every step, reusing nothing from the step cache (`--no-cache`). */
  reuseSteps?: boolean;
}

/**
 * What starting `trainingPipeline` for `spec` takes besides a workflow id: the orchestrator's task queue,
 * the args, the Web UI summary and details, and the typed search attributes. One definition for
 * `pipewright run` (startTrainingPipeline) and the action of a `pipewright schedule`.
 */
export function trainingPipelineStart(spec: PipelineSpec, options: StartOptions = {}) {
  const modelName = spec.model.name ?? spec.name;
  const queues = poolQueues(options.queuePrefix);
  const args: [TrainingPipelineInput] = [{ spec, queues, ...(options.reuseSteps === false ? { reuseSteps: false } : {}) }];
  return {
    taskQueue: queues.orchestrator,
    args,
    staticSummary: `Train **${modelName}** (${spec.model.type}, ${spec.model.epochs} epochs) on \`${describeSource(spec.source)}\`${spec.source.kind === 'postgres' && spec.source.limit ? ` (first ${spec.source.limit} rows)` : ''}`,
    staticDetails: `Spec:\n\`\`\`json\n${JSON.stringify(spec, null, 2)}\n\`\`\``,
    typedSearchAttributes: [
      { key: PIPELINE, value: spec.name },
      { key: MODEL, value: modelName },
      { key: STAGE, value: 'queued' },
    ] satisfies SearchAttributePair[],
  };
}

export async function startTrainingPipeline(client: Client, spec: PipelineSpec, options: StartOptions = {}): Promise<WorkflowHandle<typeof trainingPipeline>> {
  return client.workflow.start<typeof trainingPipeline>('trainingPipeline', { ...trainingPipelineStart(spec, options), workflowId: workflowIdFor(spec) });
}

export function webUiLink(uiUrl: string | null | undefined, namespace: string, workflowId: string): string | undefined {
  return uiUrl ? `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}` : undefined;
}

/** Waits for the run, drawing progress from the workflow's query; returns the result or throws its failure message. */
export async function watchPipeline(handle: WorkflowHandle<typeof trainingPipeline>, show = true): Promise<TrainingPipelineResult> {
  const printer = new ProgressPrinter();
  let done = false;
  const poll = async (): Promise<void> => {
    while (!done) {
      try {
        const p: PipelineProgress = await handle.query(progressQuery);
        // Between round reports, the training activities' heartbeats say how far they are.
        const live = show && p.stage === 'train' ? await trainingInFlight(handle.client, handle.workflowId).catch(() => undefined) : undefined;
        if (show) printer.update(p, live);
      } catch {
        // The first workflow task may not have run yet; try again.
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const polling = poll();
  try {
    const result = await handle.result();
    done = true;
    await polling;
    if (show) printer.update(await handle.query(progressQuery));
    return result;
  } catch (err) {
    done = true;
    await polling;
    if (show)
      await handle
        .query(progressQuery)
        .then((p) => printer.update(p))
        .catch(() => undefined);
    throw new Error(failureMessage(err), { cause: err });
  }
}

export function failureMessage(err: unknown): string {
  // A workflow's own failure message is inside WorkflowFailedError's cause; anything else speaks for itself.
  if (err instanceof WorkflowFailedError) return err.cause ? rootCauseMessage(err.cause) : err.message;
  return err instanceof Error ? err.message : String(err);
}
