import type { ScheduleDescription, ScheduleSummary } from '@temporalio/client';
import {
  actionsDone,
  actionsDoneLines,
  calendarAsCron,
  checkCron,
  checkScheduleName,
  cronOf,
  formatDuration,
  parseScheduleArgs,
  scheduleDetailLines,
  scheduleIdOf,
  scheduleListLines,
  scheduleNameOf,
  scheduledWorkflowIdPrefix,
} from '../../scripts/client/schedule-lines';
import { UsageError } from '../../scripts/client/usage-error';

const usageError = (fn: () => unknown): UsageError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
};

const at = (s: string): Date => new Date(s);

/** The calendar Temporal compiles "0 3 * * *" into, as the SDK decodes it. */
const dailyAt3 = {
  second: [{ start: 0, end: 0, step: 1 }],
  minute: [{ start: 0, end: 0, step: 1 }],
  hour: [{ start: 3, end: 3, step: 1 }],
  dayOfMonth: [{ start: 1, end: 31, step: 1 }],
  month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
  year: [],
  dayOfWeek: [{ start: 'SUNDAY', end: 'SATURDAY', step: 1 }],
} as const;

const action = (workflowId: string, runId: string, scheduledAt: string, takenAt = scheduledAt) => ({
  scheduledAt: at(scheduledAt),
  takenAt: at(takenAt),
  action: { type: 'startWorkflow' as const, workflow: { workflowId, firstExecutionRunId: runId } },
});

function description(
  over: { paused?: boolean; note?: string; recent?: ReturnType<typeof action>[]; running?: string[]; next?: Date[] } = {},
): ScheduleDescription {
  return {
    scheduleId: 'pipewright-nightly',
    spec: { calendars: [dailyAt3 as never], intervals: [], skip: [] },
    action: { type: 'startWorkflow', workflowType: 'trainingPipeline', workflowId: 'nightly-scheduled', taskQueue: 'pipewright-orchestrator', args: [] },
    policies: { overlap: 'SKIP', catchupWindow: 86_400_000, pauseOnFailure: false },
    memo: { cron: '0 3 * * *', pipeline: 'flights', model: 'flights', specFile: '/specs/flights.json' },
    searchAttributes: {},
    typedSearchAttributes: undefined as never,
    state: { paused: over.paused ?? false, ...(over.note !== undefined ? { note: over.note } : {}) },
    info: {
      recentActions: over.recent ?? [],
      nextActionTimes: over.next ?? [1, 2, 3, 4, 5, 6, 7].map((d) => at(`2026-12-0${d}T03:00:00Z`)),
      numActionsTaken: over.recent?.length ?? 0,
      numActionsMissedCatchupWindow: 0,
      numActionsSkippedOverlap: 0,
      createdAt: at('2026-11-30T12:00:00Z'),
      lastUpdatedAt: undefined,
      runningActions: (over.running ?? []).map((workflowId) => ({ type: 'startWorkflow' as const, workflow: { workflowId, firstExecutionRunId: 'r' } })),
    },
    raw: {},
  };
}

describe('schedule names and ids', () => {
  it('maps a name to its Temporal schedule id and back, and names the workflows it starts', () => {
    expect(scheduleIdOf('nightly_flights-2')).toBe('pipewright-nightly_flights-2');
    expect(scheduleNameOf('pipewright-nightly_flights-2')).toBe('nightly_flights-2');
    expect(scheduleNameOf('someone-elses-schedule')).toBeUndefined();
    expect(scheduledWorkflowIdPrefix('nightly')).toBe('nightly-scheduled');
  });

  it('accepts letters, digits, - and _ and says which characters are wrong', () => {
    expect(checkScheduleName('Nightly_retrain-01', 'u')).toBe('Nightly_retrain-01');
    expect(usageError(() => checkScheduleName('nightly retrain', 'u')).message).toBe(
      'schedule name "nightly retrain" has a space: use letters, digits, - and _ (at most 64 characters)',
    );
    expect(usageError(() => checkScheduleName('a/b.c/d', 'u')).message).toContain('has "/", "."');
    expect(usageError(() => checkScheduleName('x'.repeat(65), 'u')).message).toContain('is 65 characters long');
    expect(usageError(() => checkScheduleName('', 'u')).message).toBe('the schedule name must not be empty');
  });
});

describe('cron strings', () => {
  it('accepts 5, 6 and 7 fields, a time zone prefix, a comment and the @ shorthands', () => {
    for (const cron of ['0 3 * * *', '0 3 * * MON-FRI 2027', '30 0 3 * * * *', 'CRON_TZ=Europe/Paris 0 3 * * *', '0 3 * * * # nightly', '@daily', '@every 2h'])
      expect(checkCron(`  ${cron} `, 'u')).toBe(cron);
  });

  it('refuses a string with too few or too many fields, naming the flag', () => {
    const e = usageError(() => checkCron('0 3 * *', 'usage line'));
    expect(e.message).toMatch(/^--cron "0 3 \* \*" has 4 fields; a cron string has 5/);
    expect(e.usage).toBe('usage line');
    expect(usageError(() => checkCron('every night', 'u')).message).toContain('has 2 fields');
    expect(usageError(() => checkCron('1 2 3 4 5 6 7 8', 'u')).message).toContain('has 8 fields');
    expect(usageError(() => checkCron('   ', 'u')).message).toMatch(/^--cron must not be empty/);
  });
});

describe('the schedule command line', () => {
  it('parses create with its flags, wherever the spec file stands', () => {
    expect(parseScheduleArgs(['create', 'nightly', 'specs/flights.json'], { cron: '0 3 * * *' })).toEqual({
      kind: 'create',
      name: 'nightly',
      specFile: 'specs/flights.json',
      cron: '0 3 * * *',
      paused: false,
    });
    expect(parseScheduleArgs(['create', 'nightly', 'f.json'], { cron: '@hourly', note: 'hourly retrain', paused: true })).toMatchObject({
      note: 'hourly retrain',
      paused: true,
    });
  });

  it('refuses create without --cron, without the spec, with a bad name or an empty note', () => {
    expect(usageError(() => parseScheduleArgs(['create', 'nightly', 'f.json'])).message).toMatch(/^schedule create: missing --cron/);
    expect(usageError(() => parseScheduleArgs(['create', 'nightly'], { cron: '0 3 * * *' })).message).toBe('schedule create: missing <spec.json>');
    expect(usageError(() => parseScheduleArgs(['create', 'no good', 'f.json'], { cron: '0 3 * * *' })).message).toContain('has a space');
    expect(usageError(() => parseScheduleArgs(['create', 'n', 'f.json'], { cron: '0 3 * * *', note: ' ' })).message).toBe('--note must not be empty');
  });

  it('parses the other subcommands and refuses flags they do not take', () => {
    expect(parseScheduleArgs(['list'])).toEqual({ kind: 'list' });
    expect(parseScheduleArgs(['describe', 'n'])).toEqual({ kind: 'describe', name: 'n' });
    expect(parseScheduleArgs(['pause', 'n'], { note: 'data late' })).toEqual({ kind: 'pause', name: 'n', note: 'data late' });
    expect(parseScheduleArgs(['unpause', 'n'], { paused: false })).toEqual({ kind: 'unpause', name: 'n' });
    expect(parseScheduleArgs(['trigger', 'n'])).toEqual({ kind: 'trigger', name: 'n' });
    expect(parseScheduleArgs(['delete', 'n'])).toEqual({ kind: 'delete', name: 'n' });
    expect(usageError(() => parseScheduleArgs(['trigger', 'n'], { cron: '0 3 * * *' })).message).toBe('--cron is not an option of schedule trigger');
    expect(usageError(() => parseScheduleArgs(['list'], { paused: true })).message).toBe('--paused is not an option of schedule list');
    expect(usageError(() => parseScheduleArgs(['describe'])).message).toBe('schedule describe: missing <name>');
    expect(usageError(() => parseScheduleArgs(['delete', 'a', 'b'])).message).toBe('schedule delete: unexpected argument "b"');
    expect(usageError(() => parseScheduleArgs([])).message).toMatch(/^schedule: missing subcommand \(create, list, describe/);
    expect(usageError(() => parseScheduleArgs(['start', 'n'])).message).toMatch(/^unknown schedule subcommand "start"/);
  });

  it('parses a backfill window and refuses an empty or malformed one', () => {
    expect(parseScheduleArgs(['backfill', 'n'], { from: '2026-11-30T00:00:00Z', to: '2026-11-30T02:00:00Z' })).toEqual({
      kind: 'backfill',
      name: 'n',
      from: at('2026-11-30T00:00:00Z'),
      to: at('2026-11-30T02:00:00Z'),
    });
    expect(usageError(() => parseScheduleArgs(['backfill', 'n'], { from: '2026-11-30' })).message).toBe('schedule backfill: missing --to');
    expect(usageError(() => parseScheduleArgs(['backfill', 'n'], { from: 'yesterday', to: '2026-11-30' })).message).toMatch(/^--from must be a date/);
    expect(usageError(() => parseScheduleArgs(['backfill', 'n'], { from: '2026-11-30T02:00:00Z', to: '2026-11-30T02:00:00Z' })).message).toBe(
      '--to (2026-11-30T02:00:00.000Z) must be after --from (2026-11-30T02:00:00.000Z)',
    );
  });
});

describe('calendars back in cron form', () => {
  it('turns the compiled calendar of a cron string back into it', () => {
    expect(calendarAsCron(dailyAt3 as never)).toBe('0 3 * * *');
    expect(
      calendarAsCron({
        ...dailyAt3,
        minute: [{ start: 0, end: 59, step: 15 }],
        hour: [
          { start: 8, end: 18, step: 1 },
          { start: 22, end: 22, step: 1 },
        ],
        dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
        month: [{ start: 'MARCH', end: 'MARCH', step: 1 }],
      } as never),
    ).toBe('*/15 8-18,22 * 3 1-5');
    expect(calendarAsCron({ ...dailyAt3, second: [{ start: 30, end: 30, step: 1 }], year: [{ start: 2027, end: 2027, step: 1 }] } as never)).toBe(
      '30 0 3 * * * 2027',
    );
  });

  it('prefers the cron pipewright recorded, and shows intervals', () => {
    expect(cronOf({ cron: '0 3 * * * # nightly' }, { calendars: [dailyAt3 as never] })).toBe('0 3 * * * # nightly');
    expect(cronOf({}, { calendars: [dailyAt3 as never] })).toBe('0 3 * * *');
    expect(cronOf({}, { intervals: [{ every: 7_200_000, offset: 0 }] })).toBe('@every 2 hours');
    expect(cronOf({}, undefined)).toBe('(none)');
  });

  it('writes durations in words', () => {
    expect(formatDuration(86_400_000)).toBe('1 day');
    expect(formatDuration(5_400_000)).toBe('1 hour 30 minutes');
    expect(formatDuration(2 * 86_400_000 + 1000)).toBe('2 days 1 second');
    expect(formatDuration(0)).toBe('0 seconds');
  });
});

describe('schedule describe', () => {
  it('shows the cron, the state, the SKIP policy, the next five times and the recent actions with their status', () => {
    const d = description({
      recent: [action('nightly-scheduled-2026-11-30T03:00:00Z', 'r1', '2026-11-30T03:00:00Z', '2026-11-30T03:00:01Z')],
    });
    const lines = scheduleDetailLines(d, new Map([['nightly-scheduled-2026-11-30T03:00:00Z', 'COMPLETED']]), { schedule: 'http://ui/schedules/x' });
    const text = lines.join('\n');
    expect(lines[0]).toBe('Schedule nightly  (Temporal schedule pipewright-nightly)');
    expect(lines).toContain('  State      active');
    expect(lines).toContain('  Cron       0 3 * * *  (UTC)');
    expect(lines).toContain('  Runs       trainingPipeline of pipeline flights on task queue pipewright-orchestrator');
    expect(lines).toContain('  Workflows  nightly-scheduled-<scheduled time>');
    expect(text).toContain('Overlap    SKIP: a run due while the previous one is still running is skipped, never two runs of this schedule at once');
    expect(text).toContain('Catch-up   1 day:');
    expect(lines).toContain('  Actions    1 taken · 0 skipped (overlap) · 0 missed (catch-up window)');
    const next = lines.indexOf('  Next runs');
    expect(lines.slice(next + 1, next + 6)).toEqual([1, 2, 3, 4, 5].map((n) => `    2026-12-0${n}T03:00:00.000Z`));
    expect(lines[next + 6]).not.toMatch(/2026-12-06/);
    expect(text).toMatch(/scheduled for\s+taken at\s+workflow\s+status/);
    expect(text).toMatch(/2026-11-30T03:00:00.000Z {2}2026-11-30T03:00:01.000Z {2}nightly-scheduled-2026-11-30T03:00:00Z {2}COMPLETED/);
    expect(lines.at(-1)).toBe('  Web UI     http://ui/schedules/x');
  });

  it('says when it is paused, with the note, and when nothing ran yet', () => {
    const lines = scheduleDetailLines(description({ paused: true, note: 'data late', next: [] }));
    expect(lines).toContain('  State      paused');
    expect(lines).toContain('  Note       data late');
    expect(lines).toContain('  Next runs  none while paused');
    expect(lines).toContain('  Recent     no actions yet');
    expect(lines).toContain('  Running    nothing');
    expect(scheduleDetailLines(description({ paused: true })).join('\n')).toContain('Next runs (once unpaused)');
  });
});

describe('schedule list', () => {
  const summary = (id: string, paused: boolean, recent: ReturnType<typeof action>[] = []): ScheduleSummary => ({
    scheduleId: id,
    memo: { cron: '0 * * * *', pipeline: 'flights' },
    state: { paused },
    info: { recentActions: recent, nextActionTimes: [at('2026-12-01T04:00:00Z')] },
  });

  it('lists pipewright schedules by name with state, cron, next and last run, and leaves out others', () => {
    const lines = scheduleListLines([
      summary('pipewright-zeta', true),
      summary('not-ours', false),
      summary('pipewright-alpha', false, [action('alpha-scheduled-2026-12-01T03:00:00Z', 'r', '2026-12-01T03:00:00Z')]),
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^name\s+state\s+cron\s+pipeline\s+next run\s+last run$/);
    expect(lines[1]).toMatch(
      /^alpha\s+active\s+0 \* \* \* \*\s+flights\s+2026-12-01T04:00:00.000Z\s+alpha-scheduled-2026-12-01T03:00:00Z \(2026-12-01T03:00:00.000Z\)$/,
    );
    expect(lines[2]).toMatch(/^zeta\s+paused\s+0 \* \* \* \*\s+flights\s+\(paused\)\s+-$/);
  });

  it('says how to create one when there is none', () => {
    expect(scheduleListLines([summary('other', false)])).toEqual([
      'no schedules yet; create one with pipewright schedule create <name> --cron "0 3 * * *" <spec.json> [--note "..."] [--paused]',
    ]);
  });
});

describe('what a trigger or a backfill did', () => {
  it('counts the runs started since, and those skipped for overlap', () => {
    const before = description({ recent: [action('n-scheduled-a', 'r1', '2026-11-30T03:00:00Z')] });
    const after = description({
      recent: [action('n-scheduled-a', 'r1', '2026-11-30T03:00:00Z'), action('n-scheduled-b', 'r2', '2026-11-30T01:00:00Z')],
    });
    after.info.numActionsSkippedOverlap = 2;
    const done = actionsDone(before, after);
    expect(done).toEqual({ started: ['n-scheduled-b'], skipped: 2, running: [] });
    const lines = actionsDoneLines('Backfill of n', done);
    expect(lines).toEqual([
      'Backfill of n: 1 run started, 2 skipped.',
      '  started  n-scheduled-b',
      '  skipped  2, as n-scheduled-b was still running (overlap SKIP: a run due while the previous one is still running is skipped, never two runs of this schedule at once)',
    ]);
  });

  it('names the run that was still running when nothing could start', () => {
    const before = description({ running: ['n-scheduled-a'] });
    const after = description({ running: ['n-scheduled-a'] });
    after.info.numActionsSkippedOverlap = 1;
    expect(actionsDoneLines('Triggered n', actionsDone(before, after))).toEqual([
      'Triggered n: 0 runs started, 1 skipped.',
      expect.stringMatching(/^ {2}skipped {2}1, as n-scheduled-a was still running \(overlap SKIP: /),
    ]);
    expect(actionsDoneLines('Triggered n', actionsDone(before, before))).toEqual([
      'Triggered n: Temporal has taken no action yet; `pipewright schedule describe` shows when it does.',
    ]);
  });
});
