import type { CalendarSpecDescription, Range, ScheduleDescription, ScheduleSummary } from '@temporalio/client';
import { textTable } from './text-table';
import { parseInstant, UsageError } from './usage-error';

/*
 * `pipewright schedule ...`: its command line, parsed and checked before anything connects, and how
 * its answers are shown. Pure: the command (scripts/commands/schedule.ts) talks to Temporal.
 */

export const SCHEDULE_USAGE = {
  create: 'pipewright schedule create <name> --cron "0 3 * * *" <spec.json> [--note "..."] [--paused]',
  list: 'pipewright schedule list',
  describe: 'pipewright schedule describe <name>',
  pause: 'pipewright schedule pause <name> [--note "..."]',
  unpause: 'pipewright schedule unpause <name> [--note "..."]',
  trigger: 'pipewright schedule trigger <name>',
  backfill: 'pipewright schedule backfill <name> --from 2026-11-30T00:00:00Z --to 2026-11-30T06:00:00Z',
  delete: 'pipewright schedule delete <name>',
} as const;

export const ALL_SCHEDULE_USAGE = Object.values(SCHEDULE_USAGE).join('\n       ');
type ScheduleSubcommand = keyof typeof SCHEDULE_USAGE;
const SUBCOMMANDS = Object.keys(SCHEDULE_USAGE) as ScheduleSubcommand[];

/** The Temporal schedule of a pipewright schedule is `pipewright-<name>`; other schedules in the namespace are not ours. */
export const SCHEDULE_ID_PREFIX = 'pipewright-';
export const scheduleIdOf = (name: string): string => `${SCHEDULE_ID_PREFIX}${name}`;
export const scheduleNameOf = (scheduleId: string): string | undefined =>
  scheduleId.startsWith(SCHEDULE_ID_PREFIX) ? scheduleId.slice(SCHEDULE_ID_PREFIX.length) : undefined;
/** Each action's workflow id starts so; Temporal appends the scheduled time (`nightly-scheduled-2026-11-30T03:00:00Z`). */
export const scheduledWorkflowIdPrefix = (name: string): string => `${name}-scheduled`;

/** A scheduled run is a training run: one at a time per schedule, and runs missed while Temporal was down start if at most this late. */
export const SCHEDULE_OVERLAP = 'SKIP' as const;
export const CATCHUP_WINDOW_MS = 24 * 60 * 60 * 1000;

export const SCHEDULE_NAME_RULE = 'letters, digits, - and _ (at most 64 characters)';
const MAX_NAME = 64;

/** The flags `schedule` takes, as parseArgs gives them. */
export interface ScheduleFlags {
  cron?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  note?: string | undefined;
  paused?: boolean | undefined;
}

export type ScheduleCommandLine =
  | { kind: 'create'; name: string; specFile: string; cron: string; note?: string; paused: boolean }
  | { kind: 'list' }
  | { kind: 'describe' | 'trigger' | 'delete'; name: string }
  | { kind: 'pause' | 'unpause'; name: string; note?: string }
  | { kind: 'backfill'; name: string; from: Date; to: Date };

/** Throws a UsageError that says what is wrong with `name`; returns it when it is a valid schedule name. */
export function checkScheduleName(name: string, usage: string): string {
  if (!name) throw new UsageError('the schedule name must not be empty', usage);
  const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9_-]/.test(c)))];
  if (bad.length) {
    const shown = bad.map((c) => (c === ' ' ? 'a space' : `"${c}"`)).join(', ');
    throw new UsageError(`schedule name "${name}" has ${shown}: use ${SCHEDULE_NAME_RULE}`, usage);
  }
  if (name.length > MAX_NAME) throw new UsageError(`schedule name "${name}" is ${name.length} characters long: use ${SCHEDULE_NAME_RULE}`, usage);
  return name;
}

/**
 * The shape of a cron string, checked before Temporal sees it: 5 fields (minute hour day-of-month
 * month day-of-week), 6 (+ year) or 7 (second first), optionally after CRON_TZ=… or TZ=… and before
 * a # comment; or an @ shorthand (@daily, @every 2h). Temporal checks the values.
 */
export function checkCron(cron: string, usage: string): string {
  const text = cron.trim();
  if (!text) throw new UsageError('--cron must not be empty; e.g. --cron "0 3 * * *" for 03:00 UTC every day', usage);
  const fields = text
    .replace(/#.*$/, '')
    .trim()
    .split(/\s+/)
    .filter((f) => f && !/^(CRON_)?TZ=/.test(f));
  if (fields[0]?.startsWith('@')) return text;
  if (fields.length < 5 || fields.length > 7)
    throw new UsageError(
      `--cron "${cron}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a cron string has 5 (minute hour day-of-month month day-of-week), ` +
        '6 (and year) or 7 (second first), or is a shorthand such as @daily',
      usage,
    );
  return text;
}

function onlyFlags(flags: ScheduleFlags, allowed: ReadonlyArray<keyof ScheduleFlags>, sub: ScheduleSubcommand): void {
  for (const flag of ['cron', 'from', 'to', 'note', 'paused'] as const) {
    const given = flag === 'paused' ? flags.paused === true : flags[flag] !== undefined;
    if (given && !allowed.includes(flag)) throw new UsageError(`--${flag} is not an option of schedule ${sub}`, SCHEDULE_USAGE[sub]);
  }
}

function positionals(args: readonly string[], required: readonly string[], sub: ScheduleSubcommand): string[] {
  const usage = SCHEDULE_USAGE[sub];
  const missing = required[args.length];
  if (missing !== undefined) throw new UsageError(`schedule ${sub}: missing ${missing}`, usage);
  if (args.length > required.length) throw new UsageError(`schedule ${sub}: unexpected argument "${args[required.length]}"`, usage);
  return [...args];
}

function noteFlag(note: string | undefined, usage: string): { note?: string } {
  if (note === undefined) return {};
  if (!note.trim()) throw new UsageError('--note must not be empty', usage);
  return { note };
}

/** `pipewright schedule ...` after the word `schedule`. */
export function parseScheduleArgs(args: readonly string[], flags: ScheduleFlags = {}): ScheduleCommandLine {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError(`schedule: missing subcommand (${SUBCOMMANDS.join(', ')})`, ALL_SCHEDULE_USAGE);
  if (!(SUBCOMMANDS as string[]).includes(sub))
    throw new UsageError(`unknown schedule subcommand "${sub}" (subcommands: ${SUBCOMMANDS.join(', ')})`, ALL_SCHEDULE_USAGE);
  const s = sub as ScheduleSubcommand;
  const usage = SCHEDULE_USAGE[s];
  switch (s) {
    case 'create': {
      onlyFlags(flags, ['cron', 'note', 'paused'], s);
      const [name, specFile] = positionals(rest, ['<name>', '<spec.json>'], s);
      checkScheduleName(name!, usage);
      if (flags.cron === undefined) throw new UsageError('schedule create: missing --cron, e.g. --cron "0 3 * * *" for 03:00 UTC every day', usage);
      return {
        kind: 'create',
        name: name!,
        specFile: specFile!,
        cron: checkCron(flags.cron, usage),
        paused: flags.paused === true,
        ...noteFlag(flags.note, usage),
      };
    }
    case 'list':
      onlyFlags(flags, [], s);
      positionals(rest, [], s);
      return { kind: 'list' };
    case 'pause':
    case 'unpause': {
      onlyFlags(flags, ['note'], s);
      const [name] = positionals(rest, ['<name>'], s);
      return { kind: s, name: checkScheduleName(name!, usage), ...noteFlag(flags.note, usage) };
    }
    case 'backfill': {
      onlyFlags(flags, ['from', 'to'], s);
      const [name] = positionals(rest, ['<name>'], s);
      checkScheduleName(name!, usage);
      if (flags.from === undefined || flags.to === undefined)
        throw new UsageError(`schedule backfill: missing ${flags.from === undefined ? '--from' : '--to'}`, usage);
      const from = parseInstant(flags.from, '--from', usage);
      const to = parseInstant(flags.to, '--to', usage);
      if (to.getTime() <= from.getTime()) throw new UsageError(`--to (${to.toISOString()}) must be after --from (${from.toISOString()})`, usage);
      return { kind: 'backfill', name: name!, from, to };
    }
    default: {
      onlyFlags(flags, [], s);
      const [name] = positionals(rest, ['<name>'], s);
      return { kind: s, name: checkScheduleName(name!, usage) };
    }
  }
}

/** What pipewright keeps in a schedule's memo: the cron as typed (Temporal keeps only its compiled calendar), and where the spec came from. */
export interface ScheduleMemo {
  cron: string;
  pipeline: string;
  model: string;
  specFile: string;
}

export function scheduleMemoOf(memo: Record<string, unknown> | undefined): Partial<ScheduleMemo> {
  const text = (key: keyof ScheduleMemo): Partial<ScheduleMemo> => (typeof memo?.[key] === 'string' ? { [key]: memo[key] as string } : {});
  return { ...text('cron'), ...text('pipeline'), ...text('model'), ...text('specFile') };
}

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

function cronField<U>(ranges: ReadonlyArray<Range<U>> | undefined, all: [number, number], toNumber: (u: U) => number, empty: string): string {
  if (!ranges || ranges.length === 0) return empty;
  const parts = ranges.map((r) => {
    const start = toNumber(r.start);
    const end = Math.max(start, toNumber(r.end ?? r.start));
    const step = r.step > 1 ? `/${r.step}` : '';
    if (start === all[0] && end === all[1]) return `*${step}`;
    return `${start === end ? start : `${start}-${end}`}${step}`;
  });
  return parts.join(',');
}

/**
 * A calendar as Temporal describes it, back in cron form (Temporal compiles a cron string into such
 * a calendar and forgets the string): 5 fields, or 7 when seconds or years are set.
 */
export function calendarAsCron(c: CalendarSpecDescription): string {
  const num = (n: number): number => n;
  const second = cronField(c.second, [0, 59], num, '0');
  const minute = cronField(c.minute, [0, 59], num, '0');
  const hour = cronField(c.hour, [0, 23], num, '0');
  const dayOfMonth = cronField(c.dayOfMonth, [1, 31], num, '*');
  const month = cronField(c.month, [1, 12], (m) => MONTHS.indexOf(m) + 1, '*');
  const dayOfWeek = cronField(c.dayOfWeek, [0, 6], (d) => DAYS.indexOf(d), '*');
  const year = cronField(c.year, [Number.NaN, Number.NaN], num, '*');
  const five = [minute, hour, dayOfMonth, month, dayOfWeek];
  return (second === '0' && year === '*' ? five : [second, ...five, year]).join(' ');
}

/** The cron pipewright recorded, else Temporal's calendars in cron form. */
export function cronOf(memo: Partial<ScheduleMemo>, spec: ScheduleDescription['spec'] | undefined): string {
  if (memo.cron) return memo.cron;
  const calendars = spec?.calendars ?? [];
  const intervals = spec?.intervals ?? [];
  const texts = [
    ...calendars.map(calendarAsCron),
    ...intervals.map((i) => `@every ${formatDuration(i.every)}${i.offset ? ` (offset ${formatDuration(i.offset)})` : ''}`),
  ];
  return texts.length ? texts.join('; ') : '(none)';
}

/** 86400000 → "1 day", 5400000 → "1 hour 30 minutes". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0 seconds';
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1_000],
  ];
  const parts: string[] = [];
  let left = Math.round(ms);
  for (const [unit, size] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
  }
  return parts.length ? parts.join(' ') : `${ms} ms`;
}

const OVERLAP_MEANING: Record<string, string> = {
  SKIP: 'a run due while the previous one is still running is skipped, never two runs of this schedule at once',
  BUFFER_ONE: 'one run due while another runs waits for it; further ones are dropped',
  BUFFER_ALL: 'runs due while another runs wait their turn, one at a time',
  CANCEL_OTHER: 'a run due cancels the running one, then starts',
  TERMINATE_OTHER: 'a run due terminates the running one and starts',
  ALLOW_ALL: 'runs start when due, even while others run',
};

export const overlapMeaning = (policy: string): string => `${policy}: ${OVERLAP_MEANING[policy] ?? 'see the Temporal documentation'}`;

const iso = (d: Date | undefined): string => (d ? d.toISOString() : '-');

/** `schedule list`: pipewright's schedules (others in the namespace are left out), one row each. */
export function scheduleListLines(schedules: readonly ScheduleSummary[]): string[] {
  const ours = schedules
    .map((s) => ({ s, name: scheduleNameOf(s.scheduleId) }))
    .filter((x): x is { s: ScheduleSummary; name: string } => x.name !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (ours.length === 0) return [`no schedules yet; create one with ${SCHEDULE_USAGE.create}`];
  return textTable([
    ['name', 'state', 'cron', 'pipeline', 'next run', 'last run'],
    ...ours.map(({ s, name }) => {
      const memo = scheduleMemoOf(s.memo);
      const last = s.info.recentActions.at(-1);
      return [
        name,
        s.state.paused ? 'paused' : 'active',
        cronOf(memo, s.spec),
        memo.pipeline ?? '-',
        s.state.paused ? '(paused)' : iso(s.info.nextActionTimes[0]),
        last ? `${last.action.workflow.workflowId} (${iso(last.takenAt)})` : '-',
      ];
    }),
  ]);
}

/** How many next times `schedule describe` shows. */
export const NEXT_TIMES_SHOWN = 5;

/**
 * `schedule describe`: spec, state, policies, counts, the next times and the recent actions with
 * their workflow's status (`statuses`: workflow id → status name, as far as it could be read).
 */
export function scheduleDetailLines(
  d: ScheduleDescription,
  statuses: ReadonlyMap<string, string> = new Map(),
  links: { schedule?: string | undefined } = {},
): string[] {
  const name = scheduleNameOf(d.scheduleId) ?? d.scheduleId;
  const memo = scheduleMemoOf(d.memo);
  const action = d.action;
  const lines = [`Schedule ${name}  (Temporal schedule ${d.scheduleId})`];
  const row = (label: string, value: string): void => void lines.push(`  ${label.padEnd(10)} ${value}`);
  row('State', d.state.paused ? 'paused' : 'active');
  if (d.state.note) row('Note', d.state.note);
  if (d.state.remainingActions !== undefined) row('Remaining', `${d.state.remainingActions} actions`);
  row('Cron', `${cronOf(memo, d.spec)}  (${d.spec.timezone || 'UTC'})`);
  const pipeline = memo.pipeline ? `pipeline ${memo.pipeline}${memo.model && memo.model !== memo.pipeline ? ` (model ${memo.model})` : ''}` : 'a pipeline';
  row('Runs', `${action.workflowType} of ${pipeline} on task queue ${action.taskQueue}`);
  if (memo.specFile) row('Spec', `${memo.specFile} as read when the schedule was created (to change it, delete and create again)`);
  row('Workflows', `${action.workflowId ?? '(default)'}-<scheduled time>`);
  row('Overlap', overlapMeaning(d.policies.overlap ?? SCHEDULE_OVERLAP));
  row('Catch-up', `${formatDuration(d.policies.catchupWindow)}: a run missed while Temporal was down still starts if at most this late`);
  if (d.policies.pauseOnFailure) row('On failure', 'the schedule pauses');
  row('Created', `${iso(d.info.createdAt)}${d.info.lastUpdatedAt ? `, updated ${iso(d.info.lastUpdatedAt)}` : ''}`);
  row(
    'Actions',
    `${d.info.numActionsTaken} taken · ${d.info.numActionsSkippedOverlap} skipped (overlap) · ${d.info.numActionsMissedCatchupWindow} missed (catch-up window)`,
  );
  row('Running', d.info.runningActions.length ? d.info.runningActions.map((a) => a.workflow.workflowId).join(', ') : 'nothing');
  const next = d.info.nextActionTimes.slice(0, NEXT_TIMES_SHOWN);
  if (next.length === 0) row('Next runs', d.state.paused ? 'none while paused' : 'none');
  else {
    lines.push(`  Next runs${d.state.paused ? ' (once unpaused)' : ''}`);
    for (const t of next) lines.push(`    ${t.toISOString()}`);
  }
  if (d.info.recentActions.length === 0) row('Recent', 'no actions yet');
  else {
    lines.push('  Recent actions (oldest first)');
    const table = textTable([
      ['scheduled for', 'taken at', 'workflow', 'status'],
      ...d.info.recentActions.map((a) => [iso(a.scheduledAt), iso(a.takenAt), a.action.workflow.workflowId, statuses.get(a.action.workflow.workflowId) ?? '?']),
    ]);
    for (const line of table) lines.push(`    ${line}`);
  }
  if (links.schedule) row('Web UI', links.schedule);
  return lines;
}

/** What a trigger or a backfill did, from the schedule's counts before and after. */
export interface ActionsDone {
  started: string[];
  skipped: number;
  running: string[];
}

export function actionsDone(before: Pick<ScheduleDescription, 'info'>, after: Pick<ScheduleDescription, 'info'>): ActionsDone {
  const seen = new Set(before.info.recentActions.map((a) => `${a.action.workflow.workflowId}/${a.action.workflow.firstExecutionRunId}`));
  const started = after.info.recentActions
    .filter((a) => !seen.has(`${a.action.workflow.workflowId}/${a.action.workflow.firstExecutionRunId}`))
    .map((a) => a.action.workflow.workflowId);
  // Recent actions keep only the last few; the count says how many there were.
  const taken = after.info.numActionsTaken - before.info.numActionsTaken;
  for (let i = started.length; i < taken; i++) started.push('(not in the recent actions)');
  return {
    started,
    skipped: after.info.numActionsSkippedOverlap - before.info.numActionsSkippedOverlap,
    running: before.info.runningActions.map((a) => a.workflow.workflowId),
  };
}

/** The outcome of `schedule trigger` or `schedule backfill` in words. */
export function actionsDoneLines(what: string, done: ActionsDone, policy: string = SCHEDULE_OVERLAP): string[] {
  if (done.started.length === 0 && done.skipped === 0)
    return [`${what}: Temporal has taken no action yet; \`pipewright schedule describe\` shows when it does.`];
  const lines = [`${what}: ${done.started.length} run${done.started.length === 1 ? '' : 's'} started, ${done.skipped} skipped.`];
  for (const id of done.started) lines.push(`  started  ${id}`);
  if (done.skipped > 0) {
    const busy = done.running.length ? done.running.join(', ') : done.started.length ? done.started.at(-1)! : 'a run of this schedule';
    lines.push(`  skipped  ${done.skipped}, as ${busy} was still running (overlap ${policy}: ${OVERLAP_MEANING[policy] ?? policy})`);
  }
  return lines;
}
