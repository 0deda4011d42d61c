import { readArtifactJson } from '../../lib/artifacts/artifact-store';
import { ensureFlightsTable } from '../../lib/data/flights-loader';
import type { EvaluationReport } from '../../lib/evaluation/evaluation-report';
import { listModelVersions, productionVersion } from '../../lib/registry/model-registry';
import { startTrainingPipeline, watchPipeline } from '../../scripts/client/pipeline-client';
import type { TrainingPipelineResult } from '../../contracts';
import { flightsSpec, openTestStack, type TestStack } from './stack';

/**
 * Evaluation, blessing and the registry on the real stack: per-shard metric states merged into the
 * report (curves, slices) with permutation importance; a first model blessed without a baseline; a
 * second run, with another transform, compared with production on the same test rows (production's
 * figures there equal its registered ones); and a model below its threshold registered but not
 * deployed, production unchanged.
 */

const TABLE = 'flights_50000';
const MODEL = 'it_blessing';

let stack: TestStack;

beforeAll(async () => {
  stack = await openTestStack();
  await ensureFlightsTable(stack.db, TABLE, 50_000);
});

afterAll(async () => {
  await stack?.close();
});

const evaluation = (thresholds: object[]): Record<string, unknown> => ({
  slices: [{ feature: 'origin', top: 5 }],
  importance: { repeats: 2, maxRows: 4000 },
  blessing: { thresholds },
});

async function run(overrides: Record<string, unknown>): Promise<TrainingPipelineResult> {
  const base = flightsSpec(TABLE);
  const spec = flightsSpec(TABLE, { name: MODEL, model: { ...base.model, epochs: 1 }, ...overrides });
  return watchPipeline(await startTrainingPipeline(stack.client, spec, { reuseSteps: false }), false);
}

describe('evaluation and blessing on the real stack', () => {
  let first: TrainingPipelineResult;

  test('a first model: merged metric states, the report with curves and slices, importance; blessed without a baseline and deployed', async () => {
    first = await run({ evaluation: evaluation([{ metric: 'auc', min: 0.55, vsProduction: { tolerance: 0.02 } }]) });
    expect(first.blessing?.blessed).toBe(true);
    expect(first.blessing?.baseline).toBeUndefined();
    expect(first.deployed).toBe(true);
    const m = first.metrics;
    if (m.task !== undefined && m.task !== 'binary') throw new Error('binary metrics expected');
    expect(m.auc).toBeGreaterThan(0.55);
    expect(m.prAuc).toBeGreaterThan(m.positiveRate);

    const production = await productionVersion(stack.db, MODEL);
    expect(production?.version).toBe(first.model.version);
    const report = await readArtifactJson<EvaluationReport>({ uri: production!.evaluationUri! });
    expect(report.metrics).toEqual(JSON.parse(JSON.stringify(m)));
    expect(report.binary!.roc.fpr[0]).toBe(0);
    expect(report.binary!.roc.tpr[report.binary!.roc.tpr.length - 1]).toBe(1);
    expect(report.binary!.calibration.reduce((n, b) => n + b.rows, 0)).toBe(m.rows);
    const [origin] = report.slices;
    expect(origin!.feature).toBe('origin');
    expect(origin!.values).toHaveLength(5);
    expect(origin!.values.reduce((n, v) => n + v.rows, 0) + origin!.otherRows).toBe(m.rows);
    expect(production!.importance?.features.map((f) => f.feature).sort()).toEqual(['day_of_week', 'day_of_year', 'destination', 'distance', 'hour', 'origin']);
    expect(production!.lineage).toMatchObject({ transformSha256: production!.transformSha256, seeds: { split: 42 } });
  });

  test('a second run with another transform is compared with production on the same test rows', async () => {
    const base = flightsSpec(TABLE);
    // Another vocabulary size: another transform, so production's own transform re-encodes the rows.
    const features = base.features.map((f) => (f.kind === 'categorical' ? { ...f, topK: 50 } : f));
    const second = await run({ features, evaluation: evaluation([{ metric: 'auc', min: 0.55, vsProduction: { tolerance: 0.05 } }]) });
    const baseline = second.blessing?.baseline;
    expect(baseline?.version).toBe(first.model.version);
    // The same model on the same rows: its figures equal the ones it was registered with.
    expect(baseline?.metrics).toEqual(JSON.parse(JSON.stringify(first.metrics)));
    expect(second.blessing?.checks.find((c) => c.kind === 'change')?.baseline).toBe((first.metrics as { auc: number }).auc);
    expect(second.blessing?.blessed).toBe(true);
    expect((await productionVersion(stack.db, MODEL))?.version).toBe(second.model.version);
  });

  test('a model below its threshold is registered with the reason and not deployed; production stays', async () => {
    const before = await productionVersion(stack.db, MODEL);
    const third = await run({ evaluation: evaluation([{ metric: 'auc', min: 0.99 }]) });
    expect(third.blessing?.blessed).toBe(false);
    expect(third.deployed).toBe(false);
    expect(third.blessing?.reason).toMatch(/^not blessed: auc 0\.\d+ is not ≥ 0\.99$/);
    expect((await productionVersion(stack.db, MODEL))?.version).toBe(before!.version);
    const registered = (await listModelVersions(stack.db, MODEL)).find((v) => v.version === third.model.version);
    expect(registered?.blessing?.blessed).toBe(false);
    expect(registered?.aliases).toContain('candidate');
    expect(registered?.aliases).not.toContain('production');
  });
});
