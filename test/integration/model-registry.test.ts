import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Blessing, ImportanceResult } from '../../contracts/evaluation';
import type { EvaluationMetrics } from '../../contracts/refs';
import type { RegisterInput } from '../../contracts/stages';
import {
  aliasAt,
  aliasEntryAt,
  aliasHistory,
  getModelVersion,
  listModelVersions,
  productionModels,
  productionVersion,
  promoteToProduction,
  registerModelVersion,
  removeAlias,
  rollback,
  setAlias,
  versionOfRun,
  type AliasHistoryEntry,
} from '../../lib/registry/model-registry';
import { getRun, recordRunFinished, recordRunStarted } from '../../lib/registry/run-log';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { flightsSpec, openTestStack, type TestStack } from './stack';

/**
 * The model registry on the stack's PostgreSQL: versions with lineage and blessing, aliases with
 * their append-only history (who, why, the version before), rollback, "which version served at
 * instant T", and the `models` / `runs` commands over them. Versions are registered directly with
 * fake but well-formed refs: nothing here trains or serves a model.
 */

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli.js');
const FLOW = 'it_registry_flow';
const SOLO = 'it_registry_solo';
const RACE = 'it_registry_race';
const CLI_MODEL = 'it_registry_cli';
const MODELS = [FLOW, SOLO, RACE, CLI_MODEL];

let stack: TestStack;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hex = (c: string): string => c.repeat(64);

const blessing: Blessing = {
  blessed: true,
  baseline: { version: 1, metrics: { auc: 0.7, logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: 1000 } },
  checks: [
    { metric: 'auc', kind: 'value', passed: true, value: 0.76, message: 'auc 0.760 ≥ 0.6' },
    { metric: 'auc', kind: 'change', passed: true, value: 0.76, baseline: 0.7, message: 'auc 0.760 vs production 0.700: within 0.005' },
  ],
  reason: 'every check passed',
};
const importance: ImportanceResult = {
  metric: 'auc',
  baseline: 0.76,
  rows: 1000,
  repeats: 3,
  features: [
    { feature: 'origin', drop: 0.05, std: 0.004, drops: [0.05, 0.046, 0.054] },
    { feature: 'hour', drop: 0.01, std: 0.001, drops: [0.01, 0.009, 0.011] },
  ],
};

function input(name: string, runId: string, over: Partial<RegisterInput> & { auc?: number; spec?: PipelineSpec } = {}): RegisterInput {
  const { auc = 0.75, spec = flightsSpec('it_registry_table'), ...rest } = over;
  const metrics: EvaluationMetrics = { auc, logLoss: 0.42, accuracy: 0.82, positiveRate: 0.2, rows: 1000 };
  return {
    name,
    runId,
    model: {
      uri: `file:///nowhere/${runId}.model`,
      sha256: hex('a'),
      bytes: 10,
      backend: 'wasm',
      epochs: 2,
      trainSamples: 100,
      trainSeconds: 1,
      finalLoss: 0.4,
    },
    transform: { uri: `file:///nowhere/${runId}.transform`, sha256: hex('b'), bytes: 10, inputDim: 5, trainRows: 100 },
    metrics,
    datasetSha256: hex('c'),
    spec,
    computedSteps: [],
    ...rest,
  };
}

/** A finished run in the run log, with the version it registered. */
async function finishedRun(name: string, runId: string, over: Parameters<typeof input>[2] = {}): Promise<number> {
  const registered = input(name, runId, over);
  await recordRunStarted(stack.db, { runId, temporalRunId: `t-${runId}`, pipeline: name, spec: registered.spec });
  const row = await registerModelVersion(stack.db, registered);
  await recordRunFinished(stack.db, { runId, status: 'succeeded', metrics: registered.metrics, stageSeconds: { ingest: 1.5, train: 4, register: 0.1 } });
  return row.version;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ out: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.env, ...env } });
    return { out: stdout + stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { out: e.stdout + e.stderr, code: e.code };
  }
}

const productionOf = async (name: string): Promise<number | undefined> => (await productionVersion(stack.db, name))?.version;
const audit = { actor: 'user:it', reason: 'integration test' };

beforeAll(async () => {
  stack = await openTestStack();
});

afterAll(async () => {
  if (!stack) return;
  // Fake artifacts must not stay production: a model server that (re)starts loads every production version.
  for (const name of MODELS) await removeAlias(stack.db, { name, alias: 'production', actor: 'user:it', reason: 'test cleanup' }).catch(() => undefined);
  await stack.close();
});

describe('registering', () => {
  test('a version with lineage, blessing, evaluation, importance and curves; candidate points at it; idempotent per run', async () => {
    const lineage = {
      datasetSha256: hex('c'),
      transformSha256: hex('b'),
      specSha256: hex('d'),
      codeVersion: 'code-1',
      seeds: { split: 42, model: 7 },
      backend: 'wasm',
    };
    const row = await registerModelVersion(
      stack.db,
      input(FLOW, 'it-flow-1', {
        lineage,
        blessing,
        importance,
        evaluation: { uri: 'file:///nowhere/eval.json', sha256: hex('e'), bytes: 5 },
        training: { trainLoss: [0.5, 0.4] },
      }),
    );
    expect(row).toMatchObject({
      name: FLOW,
      version: 1,
      stage: 'registered',
      aliases: ['candidate'],
      lineage,
      blessing,
      importance,
      evaluationUri: 'file:///nowhere/eval.json',
    });
    expect(row.training).toEqual({ trainLoss: [0.5, 0.4] });
    const again = await registerModelVersion(stack.db, input(FLOW, 'it-flow-1'));
    expect(again.version).toBe(1);
    const history = await aliasHistory(stack.db, FLOW);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ alias: 'candidate', version: 1, previousVersion: null, actor: 'run:it-flow-1' });
    expect(history[0]!.reason).toBe('registered by run it-flow-1; blessed: every check passed');
    const models = await stack.db.query('SELECT 1 FROM pipewright_models WHERE name = $1', [FLOW]);
    expect(models.rowCount).toBe(1);
    expect((await versionOfRun(stack.db, 'it-flow-1'))?.version).toBe(1);
    expect(await versionOfRun(stack.db, 'it-no-such-run')).toBeUndefined();
  });

  test('the next version moves candidate on, recording the version before', async () => {
    const row = await registerModelVersion(stack.db, input(FLOW, 'it-flow-2'));
    expect(row).toMatchObject({ version: 2, aliases: ['candidate'], lineage: null, blessing: null });
    expect((await aliasHistory(stack.db, FLOW, 'candidate'))[0]).toMatchObject({ version: 2, previousVersion: 1, actor: 'run:it-flow-2' });
    expect((await getModelVersion(stack.db, FLOW, 1)).aliases).toEqual([]);
  });
});

describe('aliases and their history', () => {
  let first: AliasHistoryEntry;
  let second: AliasHistoryEntry;

  test('promote: production, the legacy stage, deployed_at, and a history row with actor, reason and the version before', async () => {
    await promoteToProduction(stack.db, FLOW, 1, { actor: 'user:alice', reason: 'first release' });
    expect(await productionOf(FLOW)).toBe(1);
    await sleep(20);
    const moved = await setAlias(stack.db, { name: FLOW, alias: 'production', version: 2, actor: 'user:bob', reason: 'better auc' });
    expect(moved).toMatchObject({ changed: true, previousVersion: 1, version: 2 });
    expect(moved.row.aliases).toEqual(['candidate', 'production']);
    const [v1, v2] = await listModelVersions(stack.db, FLOW);
    expect(v1).toMatchObject({ stage: 'archived', aliases: [] });
    expect(v1!.deployedAt).toBeInstanceOf(Date);
    expect(v2).toMatchObject({ stage: 'production' });
    expect(v2!.deployedAt).toBeInstanceOf(Date);
    expect((await productionModels(stack.db)).filter((m) => m.name === FLOW).map((m) => m.version)).toEqual([2]);
    [second, first] = await aliasHistory(stack.db, FLOW, 'production');
    expect(first).toMatchObject({ version: 1, previousVersion: null, actor: 'user:alice', reason: 'first release' });
    expect(second).toMatchObject({ version: 2, previousVersion: 1, actor: 'user:bob', reason: 'better auc' });
    expect(second!.changedAt.getTime()).toBeGreaterThan(first!.changedAt.getTime());
  });

  test('setting an alias to the version it has appends nothing and returns the row', async () => {
    const before = (await aliasHistory(stack.db, FLOW)).length;
    const same = await setAlias(stack.db, { name: FLOW, alias: 'production', version: 2, actor: 'user:carol', reason: 'again' });
    expect(same).toMatchObject({ changed: false, version: 2, previousVersion: 2 });
    expect(same.row.version).toBe(2);
    expect(await aliasHistory(stack.db, FLOW)).toHaveLength(before);
  });

  test('aliasAt: nothing before the first change, v1 between, v2 after', async () => {
    const between = new Date((first.changedAt.getTime() + second.changedAt.getTime()) / 2);
    expect(await aliasAt(stack.db, FLOW, 'production', new Date(first.changedAt.getTime() - 1000))).toBeUndefined();
    expect(await aliasAt(stack.db, FLOW, 'production', between)).toBe(1);
    expect(await aliasAt(stack.db, FLOW, 'production', new Date(Date.now() + 1000))).toBe(2);
    expect(await aliasEntryAt(stack.db, FLOW, 'production', between)).toMatchObject({ id: first.id, actor: 'user:alice', reason: 'first release' });
    expect(await aliasAt(stack.db, FLOW, 'staging', new Date())).toBeUndefined();
  });

  test('rollback goes to the version held before the current one (and back again), or to --to', async () => {
    const back = await rollback(stack.db, FLOW, { actor: 'user:dave', reason: 'regression in prod' });
    expect(back).toMatchObject({ changed: true, version: 1, previousVersion: 2 });
    expect(await productionOf(FLOW)).toBe(1);
    expect((await aliasHistory(stack.db, FLOW, 'production'))[0]).toMatchObject({
      version: 1,
      previousVersion: 2,
      actor: 'user:dave',
      reason: 'regression in prod',
    });
    // The version before the current one is now v2: a second rollback undoes the first.
    expect((await rollback(stack.db, FLOW, { actor: 'user:dave', reason: 'false alarm' })).version).toBe(2);
    await registerModelVersion(stack.db, input(FLOW, 'it-flow-3'));
    expect((await rollback(stack.db, FLOW, { to: 3, ...audit })).version).toBe(3);
    expect((await listModelVersions(stack.db, FLOW)).map((v) => v.stage)).toEqual(['archived', 'archived', 'production']);
  });

  test('nothing to roll back to is a clear error', async () => {
    await registerModelVersion(stack.db, input(SOLO, 'it-solo-1'));
    await expect(rollback(stack.db, SOLO, audit)).rejects.toThrow(`nothing to roll back to: alias production of model ${SOLO} has never been set`);
    await promoteToProduction(stack.db, SOLO, 1, audit);
    await expect(rollback(stack.db, SOLO, audit)).rejects.toThrow(`nothing to roll back to: alias production of model ${SOLO} has only ever pointed at v1`);
    expect(await productionOf(SOLO)).toBe(1);
  });

  test('a missing version, an unknown model or a bad alias name is an error naming it', async () => {
    await expect(promoteToProduction(stack.db, FLOW, 9, audit)).rejects.toThrow(`model ${FLOW} has no version 9 (versions 1–3)`);
    await expect(promoteToProduction(stack.db, FLOW, 9)).rejects.toThrow(`model ${FLOW} has no version 9 (versions 1–3)`);
    await expect(setAlias(stack.db, { name: 'it_registry_nope', alias: 'production', version: 1, ...audit })).rejects.toThrow(
      new RegExp(`^no model named "it_registry_nope" \\(models: .*${FLOW}`),
    );
    await expect(setAlias(stack.db, { name: FLOW, alias: 'Prod!', version: 1, ...audit })).rejects.toThrow('"Prod!" is not a valid alias name');
    await expect(getModelVersion(stack.db, FLOW, 'staging')).rejects.toThrow(`model ${FLOW} has no alias "staging" (aliases: candidate, production)`);
    await expect(aliasHistory(stack.db, 'it_registry_nope')).rejects.toThrow('no model named "it_registry_nope"');
    expect(await productionOf(FLOW)).toBe(3);
  });

  test('a user alias: set, read by alias, removed (a history row without a version)', async () => {
    await setAlias(stack.db, { name: FLOW, alias: 'staging', version: 1, ...audit });
    expect((await getModelVersion(stack.db, FLOW, 'staging')).version).toBe(1);
    await sleep(5);
    const removed = await removeAlias(stack.db, { name: FLOW, alias: 'staging', ...audit });
    expect(removed).toMatchObject({ changed: true, version: null, previousVersion: 1 });
    expect((await aliasHistory(stack.db, FLOW, 'staging'))[0]).toMatchObject({ version: null, previousVersion: 1 });
    expect(await aliasAt(stack.db, FLOW, 'staging', new Date(Date.now() + 1000))).toBeUndefined();
    expect((await removeAlias(stack.db, { name: FLOW, alias: 'staging', ...audit })).changed).toBe(false);
  });

  test('concurrent moves of one alias are serialised: each history row’s previous version is the row before’s version', async () => {
    for (let i = 1; i <= 4; i++) await registerModelVersion(stack.db, input(RACE, `it-race-${i}`));
    await Promise.all(
      [1, 2, 3, 4, 1, 3].map((version, i) => setAlias(stack.db, { name: RACE, alias: 'production', version, actor: 'user:it', reason: `move ${i}` })),
    );
    const history = (await aliasHistory(stack.db, RACE, 'production')).reverse();
    expect(history.length).toBeGreaterThanOrEqual(4);
    history.forEach((e, i) => expect(e.previousVersion).toBe(i === 0 ? null : history[i - 1]!.version));
    expect(await productionOf(RACE)).toBe(history.at(-1)!.version);
  });
});

describe('the run log', () => {
  test('getRun: spec, status, stage seconds, metrics and the version it registered with its blessing', async () => {
    // it-flow-1 was registered without a run record; a run with one:
    await expect(getRun(stack.db, 'it-flow-1')).rejects.toThrow('no run "it-flow-1"');
    await finishedRun(CLI_MODEL, 'it-cli-1', { blessing });
    const detail = await getRun(stack.db, 'it-cli-1');
    expect(detail).toMatchObject({ runId: 'it-cli-1', pipeline: CLI_MODEL, status: 'succeeded', stageSeconds: { ingest: 1.5, train: 4, register: 0.1 } });
    expect(detail.model).toMatchObject({ name: CLI_MODEL, version: 1, blessing });
    expect(detail.spec.name).toBe('flights');
    await expect(getRun(stack.db, 'it-no-such-run')).rejects.toThrow(/^no run "it-no-such-run" \(latest: /);
  });
});

describe('the CLI', () => {
  // The registry's database directly, and a model server that is not running.
  const offline = (): Record<string, string> => ({
    DATABASE_URL: stack.info.databaseUrl,
    PIPEWRIGHT_SERVE_URL: 'http://127.0.0.1:9',
    PIPEWRIGHT_USER: 'tester',
  });
  let promotedAt: Date;

  test('models promote, history (with --at), rollback, show', async () => {
    const spec = flightsSpec('it_registry_table');
    await finishedRun(CLI_MODEL, 'it-cli-2', { auc: 0.7612, blessing, importance, spec: { ...spec, model: { ...spec.model, epochs: 5 } } });
    expect(await cli(['models', 'promote', CLI_MODEL, '1'], offline())).toMatchObject({ code: 0 });
    await sleep(20);
    promotedAt = new Date();
    await sleep(20);
    const promote = await cli(['models', 'promote', CLI_MODEL, 'v2', '--reason', 'better auc'], offline());
    expect(promote.code).toBe(0);
    expect(promote.out).toContain(`${CLI_MODEL} production: v1 → v2`);
    expect(promote.out).toContain('it will load the production version when it starts');
    expect((await aliasHistory(stack.db, CLI_MODEL, 'production'))[0]).toMatchObject({
      version: 2,
      previousVersion: 1,
      actor: 'user:tester',
      reason: 'better auc',
    });

    const history = await cli(['models', 'history', CLI_MODEL]);
    expect(history.code).toBe(0);
    expect(history.out).toMatch(/production\s+v1 → v2\s+user:tester\s+better auc/);
    expect(history.out).toMatch(/production\s+\(none\) → v1\s+user:tester\s+promoted from the CLI/);
    expect(history.out).toMatch(/candidate\s+v1 → v2\s+run:it-cli-2\s+registered by run it-cli-2/);

    const at = await cli(['models', 'history', CLI_MODEL, '--at', promotedAt.toISOString()]);
    expect(at.code).toBe(0);
    expect(at.out).toContain(`${CLI_MODEL} production at ${promotedAt.toISOString()}: v1`);
    expect(at.out).toContain('by user:tester: promoted from the CLI ((none) → v1)');

    const back = await cli(['models', 'rollback', CLI_MODEL], offline());
    expect(back.code).toBe(0);
    expect(back.out).toContain(`${CLI_MODEL} production: v2 → v1`);
    expect((await aliasHistory(stack.db, CLI_MODEL, 'production'))[0]).toMatchObject({ version: 1, actor: 'user:tester', reason: 'rolled back from the CLI' });

    const show = await cli(['models', 'show', CLI_MODEL, '2']);
    expect(show.code).toBe(0);
    expect(show.out).toContain(`${CLI_MODEL} v2`);
    expect(show.out).toMatch(/aliases\s+candidate/);
    expect(show.out).toContain('✓ auc 0.760 ≥ 0.6');
    expect(show.out).toMatch(/origin\s+0\.0500\s+± 0\.0040/);

    const list = await cli(['models', 'list', CLI_MODEL]);
    expect(list.out).toContain(`${CLI_MODEL} v1  [production] blessed  AUC 0.7500`);
    expect(list.out).toContain(`${CLI_MODEL} v2  [candidate] blessed  AUC 0.7612`);
  });

  test('runs show and runs compare', async () => {
    const show = await cli(['runs', 'show', 'it-cli-2']);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/train\s+4\.0s/);
    expect(show.out).toContain(`${CLI_MODEL} v2 [candidate]`);
    expect(show.out).toContain('blessed: every check passed');

    const compare = await cli(['runs', 'compare', 'it-cli-1', 'it-cli-2']);
    expect(compare.code).toBe(0);
    expect(compare.out).toMatch(/auc\s+0\.7500\s+0\.7612\s+\+0\.0112/);
    expect(compare.out).toContain('spec: 1 difference');
    expect(compare.out).toMatch(/\$\.model\.epochs\s+2\s+→\s+5/);
    expect(compare.out).toContain(`dataset    equal (${'c'.repeat(12)})`);
    expect(compare.out).toContain(`transform  equal (${'b'.repeat(12)})`);
  });

  test('bad input exits 2 with the usage line; a missing version or run exits 1 with the registry’s error', async () => {
    const missingArg = await cli(['models', 'promote', CLI_MODEL]);
    expect(missingArg.code).toBe(2);
    expect(missingArg.out).toContain('models promote: missing <version>');
    expect(missingArg.out).toContain('usage: pipewright models promote <name> <version> [--alias A] [--reason "..."]');
    const badDate = await cli(['models', 'history', CLI_MODEL, '--at', 'yesterday']);
    expect(badDate.code).toBe(2);
    expect(badDate.out).toContain('--at must be a date or date-time');
    expect((await cli(['models', 'frobnicate', CLI_MODEL])).code).toBe(2);
    expect((await cli(['models', 'promote', CLI_MODEL, '2', '--bogus'])).code).toBe(2);

    const missingVersion = await cli(['models', 'promote', CLI_MODEL, '9'], offline());
    expect(missingVersion.code).toBe(1);
    expect(missingVersion.out).toContain(`model ${CLI_MODEL} has no version 9 (versions 1–2)`);
    const missingModel = await cli(['models', 'history', 'it_registry_nope']);
    expect(missingModel.code).toBe(1);
    expect(missingModel.out).toContain('no model named "it_registry_nope"');
    const missingRun = await cli(['runs', 'show', 'it-no-such-run']);
    expect(missingRun.code).toBe(1);
    expect(missingRun.out).toContain('no run "it-no-such-run"');
  });
});
