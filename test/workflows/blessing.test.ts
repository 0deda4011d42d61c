/**
 * The evaluate stage's per-shard states and the blessing, on a local dev server with fake
 * activities: a first model (no baseline), a candidate worse than production (registered, not
 * deployed), production with another transform (its transform applied to the raw shards, scored on
 * this run's test rows), an incomparable production, and importance.
 */
import type { BinaryMetrics, DeployInput, EvaluateShardInput, ImportanceInput, PipelineProgress, RegisterInput, TrainingPipelineResult } from '../../contracts';
import { progressQuery } from '../../contracts';
import type { PipelineSpec } from '../../lib/spec/pipeline-spec';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { artifact, FAKE_METRICS, flightsSpec, useWorkflowEnvironment, withPipeline, type Call, type FakeOptions } from './helpers';

const suite = useWorkflowEnvironment();

const inputsOf = <T>(calls: Call[], name: Call['name']): T[] => calls.filter((c) => c.name === name).map((c) => c.input as T);

/** The flights spec, one epoch, with an evaluation section. */
function specWith(evaluation: object): PipelineSpec {
  const base = flightsSpec({ epochs: 1 });
  return parsePipelineSpec({ ...JSON.parse(JSON.stringify(base)), evaluation });
}

const THRESHOLDS = { blessing: { thresholds: [{ metric: 'auc', min: 0.6, vsProduction: { tolerance: 0.005 } }] } };
const binary = (auc: number): BinaryMetrics => ({ task: 'binary', ...FAKE_METRICS, auc });
const PRODUCTION_MODEL = artifact('production-model.json');

async function run(
  spec: PipelineSpec,
  fakes: FakeOptions,
): Promise<{ result: TrainingPipelineResult; calls: Call[]; progress: PipelineProgress; memo: unknown }> {
  return withPipeline(suite.env, suite.bundle, spec, fakes, async ({ handle, calls }) => {
    const result = await handle.result();
    const progress = await handle.query(progressQuery);
    const memo = (await handle.describe()).memo;
    return { result, calls, progress, memo };
  });
}

describe('evaluation and blessing (fake activities, local dev server)', () => {
  test('a first model with thresholds: blessed without a baseline, registered with its report and curves, deployed', async () => {
    const { result, calls, progress, memo } = await run(specWith(THRESHOLDS), {});
    expect(result.blessing?.blessed).toBe(true);
    expect(result.deployed).toBe(true);
    expect(result.blessing?.baseline).toBeUndefined();
    expect(result.blessing?.reason).toContain('no production version');
    // Every shard's state, in parallel, then one merge of all of them in partition order.
    const shards = inputsOf<EvaluateShardInput>(calls, 'evaluateShard');
    expect(shards.map((s) => s.shard.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(shards.every((s) => s.testRowsOf === undefined)).toBe(true);
    const [merge] = inputsOf<{ states: Array<{ partition: number }> }>(calls, 'mergeEvaluation');
    expect(merge!.states.map((s) => s.partition)).toEqual([0, 1, 2, 3]);
    const [registered] = inputsOf<RegisterInput>(calls, 'registerModel');
    expect(registered!.blessing?.blessed).toBe(true);
    expect(registered!.evaluation?.uri).toBe('file:///fake/evaluation.json');
    expect(registered!.training?.trainLoss).toHaveLength(1);
    const [deployed] = inputsOf<DeployInput>(calls, 'deployModel');
    expect(deployed!.reason).toBe(result.blessing!.reason);
    expect(deployed!.runId).toBe(result.runId);
    expect(progress.blessing).toEqual({ blessed: true, reason: result.blessing!.reason });
    expect(progress.stages.deploy.status).toBe('done');
    expect(memo).toEqual({ blessing: result.blessing!.reason });
  });

  test('worse than production on the same rows: registered, not deployed, with the reason in the result, progress and memo', async () => {
    const { result, calls, progress, memo } = await run(specWith(THRESHOLDS), {
      production: {
        comparable: {
          version: 2,
          model: { ...PRODUCTION_MODEL, backend: 'wasm', epochs: 0, trainSamples: 0, trainSeconds: 0, finalLoss: 0 },
          transform: { ...artifact('transform.json'), inputDim: 12, trainRows: 600 },
        },
      },
      metricsOf: (uri) => (uri === PRODUCTION_MODEL.uri ? binary(0.8) : binary(0.75)),
    });
    expect(result.blessing?.blessed).toBe(false);
    expect(result.deployed).toBe(false);
    expect(result.model.servedBy).toBeNull();
    expect(result.blessing?.baseline).toEqual({ version: 2, metrics: binary(0.8) });
    expect(result.blessing?.reason).toMatch(/^not blessed: auc 0\.75 vs production v2 0\.8/);
    expect(calls.some((c) => c.name === 'deployModel')).toBe(false);
    // Same transform as this run: production is scored on this run's encoded shards, no re-encoding.
    expect(calls.filter((c) => c.name === 'applyTransform')).toHaveLength(4);
    const production = inputsOf<EvaluateShardInput>(calls, 'evaluateShard').filter((s) => s.model.uri === PRODUCTION_MODEL.uri);
    expect(production.map((s) => s.shard.uri).sort()).toEqual([0, 1, 2, 3].map((p) => `file:///fake/encoded-${p}.arrow`));
    expect(inputsOf<RegisterInput>(calls, 'registerModel')[0]!.blessing?.blessed).toBe(false);
    expect(progress.stages.deploy.status).toBe('skipped');
    expect(progress.stages.deploy.note).toBe(result.blessing!.reason);
    expect(progress.stage).toBe('finished');
    expect(memo).toEqual({ blessing: result.blessing!.reason });
  });

  test("production with another transform: its transform encodes the raw shards, and it is scored on this run's test rows", async () => {
    const { result, calls } = await run(specWith(THRESHOLDS), {
      production: {
        comparable: {
          version: 5,
          model: { ...PRODUCTION_MODEL, backend: 'wasm', epochs: 0, trainSamples: 0, trainSeconds: 0, finalLoss: 0 },
          transform: { ...artifact('old-transform.json'), inputDim: 9, trainRows: 500 },
        },
      },
      metricsOf: (uri) => (uri === PRODUCTION_MODEL.uri ? binary(0.752) : binary(0.75)),
    });
    expect(result.blessing?.blessed).toBe(true); // trails by 0.002, within 0.005
    const reencoded = inputsOf<{ transform: { uri: string }; shard: { partition: number } }>(calls, 'applyTransform').filter((a) =>
      a.transform.uri.endsWith('old-transform.json'),
    );
    expect(reencoded.map((a) => a.shard.partition).sort()).toEqual([0, 1, 2, 3]);
    const production = inputsOf<EvaluateShardInput>(calls, 'evaluateShard').filter((s) => s.model.uri === PRODUCTION_MODEL.uri);
    expect(production).toHaveLength(4);
    for (const s of production) {
      expect(s.transform.uri).toBe('file:///fake/old-transform.json');
      expect(s.testRowsOf?.partition).toBe(s.shard.partition);
      expect(s.testRowsOf?.uri).toBe(`file:///fake/encoded-${s.shard.partition}.arrow`);
      expect(s.slices).toEqual([]);
    }
    expect(calls.some((c) => c.name === 'deployModel')).toBe(true);
  });

  test('a production model that cannot be measured on these rows fails the change threshold with the reason', async () => {
    const { result, calls } = await run(specWith(THRESHOLDS), {
      production: { incomparable: { version: 7, reason: 'it reads column "carrier", which this run\'s dataset does not have' } },
    });
    expect(result.blessing?.blessed).toBe(false);
    expect(result.blessing?.reason).toContain('production v7 could not be measured');
    expect(result.blessing?.reason).toContain('carrier');
    expect(calls.some((c) => c.name === 'deployModel')).toBe(false);
  });

  test('value thresholds only: production is not looked up; slices and importance go to the activities and the registry', async () => {
    const spec = specWith({
      slices: [{ feature: 'origin', top: 5 }],
      importance: { repeats: 2, maxRows: 1000 },
      blessing: { thresholds: [{ metric: 'auc', min: 0.9 }] },
    });
    const { result, calls } = await run(spec, {});
    expect(calls.some((c) => c.name === 'productionBaseline')).toBe(false);
    expect(result.blessing?.reason).toBe('not blessed: auc 0.75 is not ≥ 0.9');
    expect(inputsOf<EvaluateShardInput>(calls, 'evaluateShard').every((s) => s.slices.join() === 'origin')).toBe(true);
    expect(inputsOf<{ slices: unknown }>(calls, 'mergeEvaluation')[0]!.slices).toEqual([{ feature: 'origin', top: 5 }]);
    const [importance] = inputsOf<ImportanceInput>(calls, 'permutationImportance');
    expect(importance).toMatchObject({ repeats: 2, maxRows: 1000, seed: 1 });
    expect(inputsOf<RegisterInput>(calls, 'registerModel')[0]!.importance?.features[0]?.feature).toBe('distance');
  });
});
