import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowFailedError, type Client } from '@temporalio/client';
import { MODEL, poolQueues, type MonitorModelInput, type MonitorModelResult } from '../../contracts';
import { loadConfig } from '../../lib/config';
import { listAlerts, type AlertRecord } from '../../lib/monitoring/alerts';
import { formatFigure, type MonitorReport } from '../../lib/monitoring/monitor-report';
import { MonitorSpecError, parseMonitorSpec, type MonitorSpec } from '../../lib/monitoring/monitor-spec';
import type { monitorModel } from '../../workflows';
import { connectClient, failureMessage, webUiLink } from '../client/pipeline-client';
import { CATCHUP_WINDOW_MS, formatDuration, scheduleIdOf, SCHEDULE_OVERLAP } from '../client/schedule-lines';
import { resolveTarget, type Target } from '../client/target';
import { textTable } from '../client/text-table';
import { parseDuration } from '../client/duration';
import { UsageError } from '../client/usage-error';
import { withRegistry } from './registry-db';
import { readSpecFile } from './run';
import { invalidSpecMessage, scheduleLink } from './schedule';

export const MONITOR_USAGE = {
  create: 'pipewright monitor create <model> --every 1h <retrain-spec.json> [--window 60m] [--min-rows N]',
  run: 'pipewright monitor run <model> <retrain-spec.json> [--window 60m] [--min-rows N]',
  delete: 'pipewright monitor delete <model>',
  alerts: 'pipewright alerts [model]',
};
const ALL_USAGE = [MONITOR_USAGE.create, MONITOR_USAGE.run, MONITOR_USAGE.delete].join('\n       ');

export interface MonitorFlags {
  every?: string;
  window?: string;
  minRows?: string;
}

/** The Temporal Schedule of a model's monitor: `pipewright-monitor-<model>`. */
export const monitorScheduleId = (model: string): string => scheduleIdOf(`monitor-${model}`);

/** The monitor the command line describes, checked as a spec: its errors are the spec's. */
async function monitorSpecOf(model: string, specFile: string, flags: MonitorFlags, usage: string): Promise<MonitorSpec> {
  const windowMs = flags.window === undefined ? undefined : parseDuration(flags.window, '--window', usage);
  if (windowMs !== undefined && windowMs % 60_000 !== 0) throw new UsageError(`--window must be whole minutes, got "${flags.window}"`, usage);
  const minRows = flags.minRows === undefined ? undefined : Number(flags.minRows);
  if (minRows !== undefined && !(Number.isInteger(minRows) && minRows > 0))
    throw new UsageError(`--min-rows must be a positive integer, got "${flags.minRows}"`, usage);
  const retrain = await readSpecFile(specFile);
  try {
    return parseMonitorSpec({
      model,
      retrain,
      ...(windowMs !== undefined ? { windowMinutes: windowMs / 60_000 } : {}),
      ...(minRows !== undefined ? { minRows } : {}),
    });
  } catch (err) {
    if (err instanceof MonitorSpecError) throw new UsageError(err.message, usage);
    throw err;
  }
}

function monitorInput(spec: MonitorSpec, target: Target): MonitorModelInput {
  const { retrain, ...monitor } = spec;
  return { monitor, retrain: { spec: retrain, queues: poolQueues(target.queuePrefix) } };
}

/** `pipewright monitor create|run|delete ...`. */
export async function monitorCommand(args: readonly string[], flags: MonitorFlags = {}): Promise<number> {
  const [kind, model, specFile, ...rest] = args;
  if (kind !== 'create' && kind !== 'run' && kind !== 'delete') throw new UsageError(`unknown monitor command "${kind ?? ''}"`, ALL_USAGE);
  const usage = MONITOR_USAGE[kind];
  if (!model) throw new UsageError('name the model to monitor', usage);
  if (kind !== 'delete' && !specFile) throw new UsageError('give the retraining pipeline spec', usage);
  if (rest.length > 0 || (kind === 'delete' && specFile)) throw new UsageError(`unexpected argument "${kind === 'delete' ? specFile : rest[0]}"`, usage);
  const everyMs = kind === 'create' ? (flags.every === undefined ? undefined : parseDuration(flags.every, '--every', usage)) : undefined;
  if (kind === 'create' && everyMs === undefined) throw new UsageError('--every is required: how often the check runs (e.g. 1h)', usage);
  const spec = kind === 'delete' ? undefined : await monitorSpecOf(model, specFile!, flags, usage);

  const target = await resolveTarget(loadConfig(), false, () => undefined);
  const client = await connectClient(target.temporalAddress, target.namespace);
  try {
    if (kind === 'create') return await create(client, target, spec!, everyMs!);
    if (kind === 'run') return await runNow(client, target, spec!);
    return await remove(client, model);
  } finally {
    await client.connection.close();
  }
}

async function create(client: Client, target: Target, spec: MonitorSpec, everyMs: number): Promise<number> {
  const scheduleId = monitorScheduleId(spec.model);
  const input = monitorInput(spec, target);
  try {
    await client.schedule.create<typeof monitorModel>({
      scheduleId,
      spec: { intervals: [{ every: everyMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'monitorModel',
        workflowId: `${spec.model}-monitor`,
        taskQueue: input.retrain.queues.orchestrator,
        args: [input],
        staticSummary: `Monitor **${spec.model}**: the last ${spec.windowMinutes} min of serving against training; retrain on drift`,
        typedSearchAttributes: [{ key: MODEL, value: spec.model }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW_MS },
      state: { note: 'created by pipewright monitor create' },
      memo: { model: spec.model, every: formatDuration(everyMs), windowMinutes: spec.windowMinutes, pipeline: spec.retrain.name },
      typedSearchAttributes: [{ key: MODEL, value: spec.model }],
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw new Error(
        `model ${spec.model} already has a monitor (Temporal schedule ${scheduleId}); delete it first with \`pipewright monitor delete ${spec.model}\``,
        {
          cause: err,
        },
      );
    const invalid = invalidSpecMessage(err);
    if (invalid !== undefined) throw new UsageError(`--every is not an interval Temporal accepts: ${invalid}`, MONITOR_USAGE.create);
    throw err;
  }
  const description = await client.schedule.getHandle(scheduleId).describe();
  console.log(`Created monitor of ${spec.model} (${scheduleId}): every ${formatDuration(everyMs)}, the last ${spec.windowMinutes} min of serving`);
  const next = description.info.nextActionTimes[0];
  if (next) console.log(`  next check  ${next.toISOString()}`);
  console.log(`  thresholds  categorical L-inf > ${spec.thresholds.categorical}, numeric JS > ${spec.thresholds.numeric}, at least ${spec.minRows} rows`);
  console.log(`  live metric at least ${spec.minLabels} labels, a drop over ${spec.maxDrop} alerts`);
  console.log(`  on alert    retrains with ${spec.retrain.name} as ${spec.model}-retrain (one at a time)`);
  console.log(`  overlap     ${SCHEDULE_OVERLAP}: never two checks at once`);
  const link = scheduleLink(target, scheduleId);
  if (link) console.log(`  Web UI      ${link}`);
  return 0;
}

async function runNow(client: Client, target: Target, spec: MonitorSpec): Promise<number> {
  await runMonitorOnce(client, target, spec);
  return 0;
}

/** One monitoring check now, as `pipewright monitor run` does: prints its report and links, returns its result. */
export async function runMonitorOnce(client: Client, target: Target, spec: MonitorSpec): Promise<MonitorModelResult> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').slice(0, 19);
  const workflowId = `${spec.model}-monitor-${stamp}`;
  const input = monitorInput(spec, target);
  const handle = await client.workflow.start<typeof monitorModel>('monitorModel', {
    workflowId,
    taskQueue: input.retrain.queues.orchestrator,
    args: [input],
    staticSummary: `Monitor **${spec.model}** now (pipewright monitor run)`,
    typedSearchAttributes: [{ key: MODEL, value: spec.model }],
  });
  let result: MonitorModelResult;
  try {
    result = await handle.result();
  } catch (err) {
    throw new Error(err instanceof WorkflowFailedError ? failureMessage(err) : (err as Error).message, { cause: err });
  }
  for (const line of monitorResultLines(result)) console.log(line);
  const link = webUiLink(target.uiUrl, target.namespace, workflowId);
  if (link) console.log(`  Web UI   ${link}`);
  if (result.retrain.status !== 'not_needed') {
    const retrainLink = webUiLink(target.uiUrl, target.namespace, result.retrain.workflowId);
    console.log(`  follow   pipewright status ${result.retrain.workflowId}${retrainLink ? `  or  ${retrainLink}` : ''}`);
  }
  return result;
}

async function remove(client: Client, model: string): Promise<number> {
  const handle = client.schedule.getHandle(monitorScheduleId(model));
  try {
    await handle.delete();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new Error(`model ${model} has no monitor (Temporal schedule ${handle.scheduleId})`, { cause: err });
    throw err;
  }
  console.log(`Deleted the monitor of ${model} (${handle.scheduleId}); a retraining run it started goes on`);
  return 0;
}

const fig = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : formatFigure(x));

/** The report as the CLI prints it: verdict and reason, the columns, the live metric, what was done. */
export function monitorResultLines(result: MonitorModelResult): string[] {
  const r: MonitorReport = result.report;
  const lines = [
    `Monitor of ${r.model} v${r.version}: ${r.verdict === 'ok' ? 'ok' : r.verdict === 'not_enough_traffic' ? 'not enough traffic' : `ALERT (${r.verdict})`}`,
    `  ${r.reason}`,
    `  Window   ${r.window.since} – ${r.window.until} (${r.window.minutes} min): ${r.drift.rows} logged rows, at least ${r.drift.minRows} needed`,
  ];
  if (r.drift.columns.length > 0) {
    const table = textTable(
      [
        ['column', 'measure', 'value', 'threshold', 'drifted', 'detail'],
        ...r.drift.columns.map((c) => [
          c.column,
          c.measure === 'l_infinity' ? 'L-inf' : 'JS',
          fig(c.value),
          fig(c.threshold),
          c.breached ? 'yes' : 'no',
          c.detail,
        ]),
      ],
      new Set([2, 3]),
    );
    lines.push(...table.map((l) => `  ${l}`));
  }
  const live = r.live;
  const liveLine =
    live.status === 'not_enough_labels'
      ? `${live.labels} labelled rows, at least ${live.minLabels} needed`
      : live.status === 'not_measurable'
        ? (live.note ?? 'not measurable')
        : `${live.metric} ${fig(live.value)} on ${live.labels} labelled rows vs registered ${fig(live.registered)} (${live.status === 'degraded' ? 'degraded' : 'ok'}; allowed drop ${live.maxDrop})`;
  lines.push(`  Live     ${liveLine}`);
  if (result.alert) lines.push(`  Alert    #${result.alert.id} ${result.alert.reason}`);
  if (result.retrain.status === 'started') lines.push(`  Retrain  started ${result.retrain.workflowId}`);
  if (result.retrain.status === 'already_running') lines.push(`  Retrain  ${result.retrain.workflowId} is already running; not starting another`);
  return lines;
}

/** The alerts as a table: when, model, version, kind, reason, retraining run. */
export function alertLines(alerts: readonly AlertRecord[]): string[] {
  if (alerts.length === 0) return ['No alerts.'];
  return textTable([
    ['when', 'model', 'version', 'kind', 'reason', 'retraining run'],
    ...alerts.map((a) => [a.at.toISOString().slice(0, 19).replace('T', ' '), a.model, `v${a.version}`, a.kind, a.reason, a.retrainWorkflowId ?? '-']),
  ]);
}

/** `pipewright alerts [model]`. */
export async function alertsCommand(model: string | undefined): Promise<number> {
  const alerts = await withRegistry(({ db }) => listAlerts(db, model === undefined ? {} : { model }));
  for (const line of alertLines(alerts)) console.log(line);
  return 0;
}
