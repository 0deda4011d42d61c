import path from 'node:path';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleSummary,
} from '@temporalio/client';
import { MODEL, PIPELINE } from '../../contracts';
import { loadConfig } from '../../lib/config';
import type { trainingPipeline } from '../../workflows';
import { connectClient, trainingPipelineStart, webUiLink } from '../client/pipeline-client';
import {
  actionsDone,
  actionsDoneLines,
  CATCHUP_WINDOW_MS,
  parseScheduleArgs,
  SCHEDULE_ID_PREFIX,
  SCHEDULE_OVERLAP,
  SCHEDULE_USAGE,
  scheduledWorkflowIdPrefix,
  scheduleDetailLines,
  scheduleIdOf,
  scheduleListLines,
  type ScheduleCommandLine,
  type ScheduleFlags,
  type ScheduleMemo,
} from '../client/schedule-lines';
import { resolveTarget, type Target } from '../client/target';
import { UsageError } from '../client/usage-error';
import { readSpecFile } from './run';

/**
 * `pipewright schedule ...`: scheduled retraining on Temporal Schedules. A schedule starts
 * `trainingPipeline` with the spec read when it was created, exactly as `pipewright run` does, one
 * run at a time (overlap SKIP). The command line and the spec are checked before anything connects.
 */
export async function scheduleCommand(args: readonly string[], flags: ScheduleFlags = {}): Promise<number> {
  const command = parseScheduleArgs(args, flags);
  // A bad spec is the spec's error, and nothing is created.
  const spec = command.kind === 'create' ? await readSpecFile(command.specFile) : undefined;
  const config = loadConfig();
  const target = await resolveTarget(config, false, () => undefined);
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    if (command.kind === 'create') return await create(client, target, command, spec!);
    if (command.kind === 'list') return await list(client);
    return await onSchedule(client, target, command);
  } finally {
    await client.connection.close();
  }
}

export const scheduleLink = (target: Target, scheduleId: string): string | undefined =>
  target.uiUrl ? `${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/schedules/${encodeURIComponent(scheduleId)}` : undefined;

async function create(
  client: Client,
  target: Target,
  command: Extract<ScheduleCommandLine, { kind: 'create' }>,
  spec: Awaited<ReturnType<typeof readSpecFile>>,
): Promise<number> {
  const { name, cron } = command;
  const scheduleId = scheduleIdOf(name);
  const modelName = spec.model.name ?? spec.name;
  const memo: ScheduleMemo = { cron, pipeline: spec.name, model: modelName, specFile: path.resolve(command.specFile) };
  try {
    await client.schedule.create<typeof trainingPipeline>({
      scheduleId,
      spec: { cronExpressions: [cron] },
      action: {
        type: 'startWorkflow',
        workflowType: 'trainingPipeline',
        workflowId: scheduledWorkflowIdPrefix(name),
        ...trainingPipelineStart(spec, { queuePrefix: target.queuePrefix }),
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW_MS },
      state: { paused: command.paused, note: command.note ?? `created by pipewright schedule create${command.paused ? ' (paused)' : ''}` },
      memo: { ...memo },
      typedSearchAttributes: [
        { key: PIPELINE, value: spec.name },
        { key: MODEL, value: modelName },
      ],
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw new Error(
        `schedule ${name} already exists (Temporal schedule ${scheduleId}); delete it first with \`pipewright schedule delete ${name}\`, or choose another name`,
        { cause: err },
      );
    const invalid = invalidSpecMessage(err);
    if (invalid !== undefined) throw new UsageError(`--cron "${cron}" is not a cron string Temporal accepts: ${invalid}`, SCHEDULE_USAGE.create);
    throw err;
  }
  const description = await client.schedule.getHandle(scheduleId).describe();
  console.log(`Created schedule ${name} (${scheduleId}): ${spec.name} on cron "${cron}" (UTC), ${description.state.paused ? 'paused' : 'active'}`);
  const next = description.info.nextActionTimes[0];
  if (next && !description.state.paused) console.log(`  next run  ${next.toISOString()}`);
  console.log(`  overlap   ${SCHEDULE_OVERLAP}: never two runs of this schedule at once`);
  const link = scheduleLink(target, scheduleId);
  if (link) console.log(`  Web UI    ${link}`);
  return 0;
}

/** The message of Temporal's "invalid schedule spec" (the SDK throws it as a TypeError; an older path as INVALID_ARGUMENT). */
export function invalidSpecMessage(err: unknown): string | undefined {
  if (err instanceof TypeError) return err.message;
  const cause = (err as { cause?: { code?: number; details?: string } } | undefined)?.cause;
  if (cause?.code === 3) return cause.details ?? (err as Error).message;
  return undefined;
}

async function list(client: Client): Promise<number> {
  const schedules: ScheduleSummary[] = [];
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) schedules.push(s);
  for (const line of scheduleListLines(schedules)) console.log(line);
  return 0;
}

async function describeOrExplain(handle: ScheduleHandle, name: string, namespace: string): Promise<ScheduleDescription> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new Error(
        `no schedule ${name} (Temporal schedule ${handle.scheduleId}) in namespace ${namespace}; \`pipewright schedule list\` shows the schedules`,
        {
          cause: err,
        },
      );
    throw err;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A trigger or backfill is a request the schedule takes up a moment later: watch its counts (up to
 * `waitMs`) until they move and then hold still, and say what it did.
 */
async function awaitActions(handle: ScheduleHandle, before: ScheduleDescription, waitMs = 20_000): Promise<ReturnType<typeof actionsDone>> {
  const deadline = Date.now() + waitMs;
  let done = actionsDone(before, before);
  let last = 0;
  while (Date.now() < deadline) {
    await sleep(250);
    done = actionsDone(before, await handle.describe());
    const count = done.started.length + done.skipped;
    if (count > 0 && count === last) break;
    last = count;
  }
  return done;
}

async function onSchedule(client: Client, target: Target, command: Exclude<ScheduleCommandLine, { kind: 'create' | 'list' }>): Promise<number> {
  const { name } = command;
  const handle = client.schedule.getHandle(scheduleIdOf(name));
  const before = await describeOrExplain(handle, name, target.namespace);
  switch (command.kind) {
    case 'describe': {
      const statuses = new Map<string, string>();
      await Promise.all(
        before.info.recentActions.map(async (a) => {
          const { workflowId, firstExecutionRunId } = a.action.workflow;
          const status = await client.workflow
            .getHandle(workflowId, firstExecutionRunId)
            .describe()
            .then((w) => w.status.name)
            .catch(() => 'unknown');
          statuses.set(workflowId, status);
        }),
      );
      for (const line of scheduleDetailLines(before, statuses, { schedule: scheduleLink(target, handle.scheduleId) })) console.log(line);
      return 0;
    }
    case 'pause':
    case 'unpause': {
      const pausing = command.kind === 'pause';
      const state = pausing ? 'paused' : 'active';
      if (before.state.paused === pausing && command.note === undefined) {
        // Nothing to change: keep the note that says why.
        console.log(`Schedule ${name} is already ${state}${before.state.note ? `: ${before.state.note}` : ''}`);
        return 0;
      }
      const note = command.note ?? `${pausing ? 'paused' : 'unpaused'} by pipewright schedule ${command.kind}`;
      if (pausing) await handle.pause(note);
      else await handle.unpause(note);
      const after = await handle.describe();
      console.log(`Schedule ${name} is ${after.state.paused ? 'paused' : 'active'}: ${after.state.note ?? note}`);
      const next = after.info.nextActionTimes[0];
      if (!after.state.paused && next) console.log(`  next run  ${next.toISOString()}`);
      return 0;
    }
    case 'trigger': {
      // One run now, under the schedule's own rule: never two at once.
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
      const done = await awaitActions(handle, before);
      for (const line of actionsDoneLines(`Triggered ${name}`, done)) console.log(line);
      for (const id of done.started) {
        const link = webUiLink(target.uiUrl, target.namespace, id);
        if (link) console.log(`  Web UI   ${link}`);
      }
      return 0;
    }
    case 'backfill': {
      await handle.backfill({ start: command.from, end: command.to, overlap: ScheduleOverlapPolicy.SKIP });
      const done = await awaitActions(handle, before);
      for (const line of actionsDoneLines(`Backfill of ${name} from ${command.from.toISOString()} to ${command.to.toISOString()}`, done)) console.log(line);
      return 0;
    }
    case 'delete': {
      await handle.delete();
      const running = before.info.runningActions.map((a) => a.workflow.workflowId);
      console.log(`Deleted schedule ${name} (${handle.scheduleId})${running.length ? `; its running run ${running.join(', ')} goes on` : ''}`);
      if (running.length) console.log(`  cancel it  pipewright cancel ${running[0]}`);
      return 0;
    }
  }
}
