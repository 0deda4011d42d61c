import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, type TypedSearchAttributes } from '@temporalio/common';
import { MODEL, PIPELINE, poolQueues, STAGE, type TrainingPipelineInput } from '../../contracts';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import { flightsSpec, openTestStack, type TestStack } from './stack';

/**
 * `pipewright schedule` on the stack's Temporal: create (and what a bad name, cron or spec does),
 * list, describe, pause and unpause, a trigger whose run completes, a backfill under the SKIP
 * overlap policy, delete. The CLI runs as a child process, as a user runs it.
 */

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const TABLE = 'it_schedule_flights';
const PIPELINE_NAME = 'it_schedule';
const NIGHTLY = 'it-nightly';
const HOURLY = 'it-hourly';
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

let stack: TestStack;
let specFile: string;
const spec = () => {
  const base = flightsSpec(TABLE);
  return flightsSpec(TABLE, { name: PIPELINE_NAME, model: { ...base.model, epochs: 1 } });
};

async function cli(...args: string[]): Promise<{ out: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'schedule', ...args], { env: { ...process.env, ...stack.env } });
    return { out: stdout + stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { out: e.stdout + e.stderr, code: e.code };
  }
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const describeSchedule = (name: string): Promise<ScheduleDescription> => stack.client.schedule.getHandle(`pipewright-${name}`).describe();
/** The schedule list is read from Temporal's visibility store, which follows changes a moment later. */
const listed = async (name: string, want: (line: string | undefined) => boolean): Promise<string> =>
  waitFor(`schedule list to show the change to ${name}`, 60_000, async () => {
    const { out, code } = await cli('list');
    const line = out.split('\n').find((l) => l.startsWith(`${name} `));
    return code === 0 && want(line) ? out : undefined;
  });

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 5_000);
  specFile = path.join(stack.home, 'schedule-spec.json');
  writeFileSync(specFile, JSON.stringify(spec()));
});

afterAll(async () => {
  if (!stack) return;
  for (const name of [NIGHTLY, HOURLY, 'it-bad-cron', 'it-bad-spec'])
    await stack.client.schedule
      .getHandle(`pipewright-${name}`)
      .delete()
      .catch(() => undefined);
  await stack.close();
});

test('a bad name, a bad cron and a bad spec each say what is wrong, and create nothing', async () => {
  const name = await cli('create', 'nightly retrain', '--cron', '0 3 * * *', specFile);
  expect(name.code).toBe(2);
  expect(name.out).toContain('schedule name "nightly retrain" has a space: use letters, digits, - and _');

  const fields = await cli('create', 'it-bad-cron', '--cron', '0 3 * *', specFile);
  expect(fields.code).toBe(2);
  expect(fields.out).toContain('--cron "0 3 * *" has 4 fields');

  // Well-formed but out of range: Temporal's own check, reported against the flag.
  const range = await cli('create', 'it-bad-cron', '--cron', '0 25 * * *', specFile);
  expect(range.code).toBe(2);
  expect(range.out).toContain('pipewright: --cron "0 25 * * *" is not a cron string Temporal accepts:');
  expect(range.out).toMatch(/hour/i);
  expect(range.out).toContain('usage: pipewright schedule create <name> --cron');
  await expect(describeSchedule('it-bad-cron')).rejects.toBeInstanceOf(ScheduleNotFoundError);

  const badSpec = path.join(stack.home, 'schedule-bad-spec.json');
  writeFileSync(badSpec, JSON.stringify({ ...spec(), model: { type: 'mlp', epochs: 0 } }));
  const invalid = await cli('create', 'it-bad-spec', '--cron', '0 3 * * *', badSpec);
  expect(invalid.code).toBe(2);
  expect(invalid.out).toContain(`Invalid pipeline spec ${badSpec}`);
  const missing = await cli('create', 'it-bad-spec', '--cron', '0 3 * * *', path.join(stack.home, 'no-such-spec.json'));
  expect(missing.code).toBe(1);
  expect(missing.out).toContain('cannot read spec');
  await expect(describeSchedule('it-bad-spec')).rejects.toBeInstanceOf(ScheduleNotFoundError);
});

test('create puts the training pipeline on a cron with overlap SKIP; describe and list show it', async () => {
  const created = await cli('create', NIGHTLY, '--cron', '0 3 * * *', specFile, '--note', 'nightly retrain');
  expect(created.code).toBe(0);
  expect(created.out).toContain(`Created schedule ${NIGHTLY} (pipewright-${NIGHTLY}): ${PIPELINE_NAME} on cron "0 3 * * *" (UTC), active`);

  // The action starts trainingPipeline as `pipewright run` does: same args, queue, search attributes, summary.
  const d = await describeSchedule(NIGHTLY);
  expect(d.action.workflowType).toBe('trainingPipeline');
  expect(d.action.workflowId).toBe(`${NIGHTLY}-scheduled`);
  expect(d.action.taskQueue).toBe(poolQueues(stack.info.queuePrefix).orchestrator);
  const [input] = d.action.args as [TrainingPipelineInput];
  expect(input.spec).toEqual(spec());
  expect(input.queues).toEqual(poolQueues(stack.info.queuePrefix));
  // Described, they come back as TypedSearchAttributes.
  const attributes = d.action.typedSearchAttributes as TypedSearchAttributes;
  expect(attributes.get(PIPELINE)).toBe(PIPELINE_NAME);
  expect(attributes.get(MODEL)).toBe(PIPELINE_NAME);
  expect(attributes.get(STAGE)).toBe('queued');
  expect(d.action.staticSummary).toContain(`Train **${PIPELINE_NAME}**`);
  expect(d.policies.overlap).toBe('SKIP');
  expect(d.policies.catchupWindow).toBe(24 * 60 * 60 * 1000);
  expect(d.state).toMatchObject({ paused: false, note: 'nightly retrain' });
  expect(d.memo).toMatchObject({ cron: '0 3 * * *', pipeline: PIPELINE_NAME, specFile });

  const shown = await cli('describe', NIGHTLY);
  expect(shown.code).toBe(0);
  const lines = shown.out.split('\n');
  expect(lines).toContain('  Cron       0 3 * * *  (UTC)');
  expect(lines).toContain('  State      active');
  expect(lines).toContain('  Note       nightly retrain');
  expect(shown.out).toMatch(/ {2}Overlap {4}SKIP: .*never two runs of this schedule at once/);
  expect(lines).toContain(`  Workflows  ${NIGHTLY}-scheduled-<scheduled time>`);
  const next = lines.slice(lines.indexOf('  Next runs') + 1, lines.indexOf('  Next runs') + 6).map((l) => l.trim());
  expect(next).toHaveLength(5);
  for (const t of next) expect(t).toMatch(/^\d{4}-\d\d-\d\dT03:00:00\.000Z$/);
  // One day apart, the first within a day from now.
  const times = next.map((t) => Date.parse(t));
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(86_400_000);
  expect(times[0]! - Date.now()).toBeLessThanOrEqual(86_400_000);
  expect(times[0]!).toBeGreaterThan(Date.now() - 60_000);

  const list = await listed(NIGHTLY, (line) => line !== undefined);
  expect(list.split('\n')[0]).toMatch(/^name\s+state\s+cron\s+pipeline\s+next run\s+last run$/);
  expect(list).toMatch(new RegExp(`^${NIGHTLY}\\s+active\\s+0 3 \\* \\* \\*\\s+${PIPELINE_NAME}\\s+${next[0]!.replace(/\./g, '\\.')}\\s+-$`, 'm'));

  const again = await cli('create', NIGHTLY, '--cron', '0 4 * * *', specFile);
  expect(again.code).toBe(1);
  expect(again.out).toContain(`schedule ${NIGHTLY} already exists`);
  expect(again.out).toContain(`pipewright schedule delete ${NIGHTLY}`);
  expect((await describeSchedule(NIGHTLY)).memo?.cron).toBe('0 3 * * *');
});

test('pause and unpause change its state and note', async () => {
  const paused = await cli('pause', NIGHTLY, '--note', 'source table is being reloaded');
  expect(paused.code).toBe(0);
  expect(paused.out).toContain(`Schedule ${NIGHTLY} is paused: source table is being reloaded`);
  expect((await describeSchedule(NIGHTLY)).state).toMatchObject({ paused: true, note: 'source table is being reloaded' });
  expect((await cli('describe', NIGHTLY)).out).toContain('  State      paused');
  // Pausing again without a note keeps the note that says why.
  expect((await cli('pause', NIGHTLY)).out).toContain(`Schedule ${NIGHTLY} is already paused: source table is being reloaded`);
  await listed(NIGHTLY, (line) => line !== undefined && /^\S+\s+paused\s/.test(line));

  const unpaused = await cli('unpause', NIGHTLY);
  expect(unpaused.code).toBe(0);
  expect(unpaused.out).toContain(`Schedule ${NIGHTLY} is active: unpaused by pipewright schedule unpause`);
  expect(unpaused.out).toMatch(/next run {2}\d{4}-\d\d-\d\dT03:00:00\.000Z/);
  expect((await describeSchedule(NIGHTLY)).state.paused).toBe(false);
});

test('trigger starts one run now, with the schedule id and the search attributes, and it completes', async () => {
  const triggered = await cli('trigger', NIGHTLY);
  expect(triggered.code).toBe(0);
  expect(triggered.out).toContain(`Triggered ${NIGHTLY}: 1 run started, 0 skipped.`);
  const workflowId = /started {2}(\S+)/.exec(triggered.out)?.[1];
  expect(workflowId).toMatch(new RegExp(`^${NIGHTLY}-scheduled-`));

  const handle = stack.client.workflow.getHandle(workflowId!);
  const result = await handle.result();
  expect(result.rows).toBe(5_000);
  const w = await handle.describe();
  expect(w.status.name).toBe('COMPLETED');
  expect(w.type).toBe('trainingPipeline');
  expect(w.taskQueue).toBe(poolQueues(stack.info.queuePrefix).orchestrator);
  expect(w.typedSearchAttributes.get(PIPELINE)).toBe(PIPELINE_NAME);
  expect(w.typedSearchAttributes.get(STAGE)).toBe('finished');
  expect(w.typedSearchAttributes.get(SCHEDULED_BY)).toBe(`pipewright-${NIGHTLY}`);
  expect(await w.staticSummary()).toContain(`Train **${PIPELINE_NAME}**`);
  const run = await stack.db.query<{ status: string; pipeline: string }>('SELECT status, pipeline FROM pipewright_runs WHERE run_id = $1', [workflowId]);
  expect(run.rows[0]).toEqual({ status: 'succeeded', pipeline: PIPELINE_NAME });

  const d = await describeSchedule(NIGHTLY);
  expect(d.info.numActionsTaken).toBe(1);
  expect(d.info.recentActions.map((a) => a.action.workflow.workflowId)).toEqual([workflowId]);
  const shown = await cli('describe', NIGHTLY);
  expect(shown.out).toContain('  Actions    1 taken · 0 skipped (overlap) · 0 missed (catch-up window)');
  expect(shown.out).toMatch(new RegExp(`${workflowId!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+COMPLETED`));
  await listed(NIGHTLY, (line) => line?.includes(workflowId!) === true);
});

test('backfill of a 2-hour window on an hourly cron takes one run and skips the others (overlap SKIP)', async () => {
  // Paused, so that the hour does not strike during the test: a backfill runs on a paused schedule.
  const created = await cli('create', HOURLY, '--cron', '0 * * * *', specFile, '--paused');
  expect(created.code).toBe(0);
  expect(created.out).toContain('(UTC), paused');

  const backfill = await cli('backfill', HOURLY, '--from', '2026-11-29T00:00:00Z', '--to', '2026-11-29T02:00:00Z');
  expect(backfill.code).toBe(0);
  // 00:00, 01:00 and 02:00 are in the window (both ends included); Temporal takes them at once, so
  // under SKIP the first starts and the other two find it running.
  expect(backfill.out).toContain(`Backfill of ${HOURLY} from 2026-11-29T00:00:00.000Z to 2026-11-29T02:00:00.000Z: 1 run started, 2 skipped.`);
  expect(backfill.out).toContain(`started  ${HOURLY}-scheduled-2026-11-29T00:00:00Z`);
  const d = await describeSchedule(HOURLY);
  expect(d.info.numActionsTaken).toBe(1);
  expect(d.info.numActionsSkippedOverlap).toBe(2);
  expect(d.info.recentActions).toHaveLength(1);
  expect(d.info.recentActions[0]!.scheduledAt.toISOString()).toBe('2026-11-29T00:00:00.000Z');
  expect(d.info.recentActions[0]!.action.workflow.workflowId).toBe(`${HOURLY}-scheduled-2026-11-29T00:00:00Z`);
  expect(d.state.paused).toBe(true);

  const handle = stack.client.workflow.getHandle(`${HOURLY}-scheduled-2026-11-29T00:00:00Z`);
  expect((await handle.result()).rows).toBe(5_000);
  expect((await cli('describe', HOURLY)).out).toContain('  Actions    1 taken · 2 skipped (overlap) · 0 missed (catch-up window)');

  expect((await cli('backfill', HOURLY, '--from', '2026-11-29T02:00:00Z', '--to', '2026-11-29T00:00:00Z')).out).toContain('must be after --from');
});

test('delete removes the schedules; their runs stay', async () => {
  for (const name of [NIGHTLY, HOURLY]) {
    const deleted = await cli('delete', name);
    expect(deleted.code).toBe(0);
    expect(deleted.out).toContain(`Deleted schedule ${name} (pipewright-${name})`);
    await expect(describeSchedule(name)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const shown = await cli('describe', name);
    expect(shown.code).toBe(1);
    expect(shown.out).toContain(`no schedule ${name} (Temporal schedule pipewright-${name})`);
  }
  await listed(NIGHTLY, (line) => line === undefined);
  await listed(HOURLY, (line) => line === undefined);
  expect((await cli('delete', NIGHTLY)).code).toBe(1);
  const runs = await stack.db.query<{ n: string }>("SELECT count(*) AS n FROM pipewright_runs WHERE pipeline = $1 AND status = 'succeeded'", [PIPELINE_NAME]);
  expect(Number(runs.rows[0]!.n)).toBe(2);
});
