import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AggregateRoundInput, TrainSiteRoundResult } from '../../contracts/federated';
import type { CheckpointRef, TransformRef } from '../../contracts/refs';
import { fileStoreSettings, openArtifactStore, readArtifactBytes } from '../../lib/artifacts/artifact-store';
import { binaryStateOf } from '../../lib/evaluation/states/binary-state';
import { metricsOf, rowsOf } from '../../lib/evaluation/states/metric-state';
import { decodeState } from '../../lib/evaluation/states/state-codec';
import { aggregateRound } from '../../lib/federated/aggregate-round';
import { privacySpent } from '../../lib/federated/differential-privacy';
import { initGlobalModel } from '../../lib/federated/global-model';
import { FIXED_POINT_BITS, siteKeyPair } from '../../lib/federated/secure-aggregation';
import { coarsenBinaryState, evaluateAtSite, SHARED_SCORE_BINS } from '../../lib/federated/site-evaluation';
import { loadSiteSecret, runKeySeed, selfMaskSeed } from '../../lib/federated/site-secret';
import { trainSiteRound, type TrainSiteRoundTask } from '../../lib/federated/site-training';
import { countBatches } from '../../lib/features/encoded-batches';
import { loadConfig } from '../../lib/config';
import { mulberry32 } from '../../lib/random';
import { modelSpecSchema, type ModelSpec } from '../../lib/spec/model-spec';
import { trainShards } from '../../lib/training/train-shards';
import {
  f64Of,
  federatedTransform,
  filesUnder,
  l2,
  makeSite,
  maxAbsDiff,
  putTransform,
  tempDir,
  u32Of,
  weightsOf,
  type FederatedSite,
} from './fixtures/federated-sites';

/**
 * Federated rounds without Temporal: the lib functions that the site threads (trainSiteRound,
 * evaluateAtSite) and the coordinator's threads (initGlobalModel, aggregateRound) run, on real
 * TF.js, with one file store per site and one exchange store that the coordinator owns.
 */

const exchangeRoot = tempDir('pw-fed-exchange-');
const exchange = fileStoreSettings(exchangeRoot);
const exchangeStore = openArtifactStore(exchange);
const runId = 'fed-run-1';
const fitted = federatedTransform();
const quiet = (): void => undefined;

const logistic = modelSpecSchema.parse({ type: 'logistic', batchSize: 64, learningRate: 0.05, seed: 3 });
/** Dropout too, so the seeded masks must agree across sites. */
const mlp = modelSpecSchema.parse({ type: 'mlp', layers: [{ units: 8, dropout: 0.1 }], batchSize: 64, learningRate: 0.02, seed: 5 });

async function globalModel(model: ModelSpec, transform: TransformRef): Promise<CheckpointRef> {
  return (await initGlobalModel({ model, transform, artifactStore: exchange })).checkpoint;
}

function siteRound(
  site: FederatedSite,
  model: ModelSpec,
  transform: TransformRef,
  global: CheckpointRef,
  extra: Partial<TrainSiteRoundTask> = {},
): Promise<TrainSiteRoundResult> {
  return trainSiteRound(
    {
      runId,
      site: site.name,
      round: 0,
      model,
      transform,
      shards: site.shards,
      global,
      localEpochs: 1,
      artifactStore: site.store,
      exchangeStore: exchange,
      ...extra,
    },
    quiet,
  );
}

function aggregate(global: CheckpointRef, updates: TrainSiteRoundResult[], extra: Partial<AggregateRoundInput> = {}) {
  return aggregateRound({
    runId,
    round: 0,
    global,
    updates: updates.map((u) => ({ site: u.site, update: u.update, length: u.length, examples: u.examples })),
    asked: updates.length,
    minSites: Math.min(2, updates.length),
    secure: false,
    serverLearningRate: 1,
    seed: 99,
    artifactStore: exchange,
    ...extra,
  });
}

/** A vector's raw bytes, for bit-for-bit comparisons (NaN and -0 included). */
const bitsOf = (v: Float32Array | Float64Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Distance from |x| to the next float32 up. */
function ulp32(x: number): number {
  const a = Math.fround(Math.abs(x));
  const bits = new Uint32Array(Float32Array.of(a).buffer)[0]!;
  return new Float32Array(Uint32Array.of(bits + 1).buffer)[0]! - a;
}

let transform: TransformRef;
/** Three sites with different data and row counts. */
let north: FederatedSite;
let south: FederatedSite;
let east: FederatedSite;

beforeAll(async () => {
  north = await makeSite('north', fitted, 2400, 21);
  south = await makeSite('south', fitted, 1200, 22);
  east = await makeSite('east', fitted, 1600, 23);
  transform = await putTransform(exchange, fitted, north.trainRows + south.trainRows + east.trainRows);
});

/**
 * Two sites with identical shards train from the same global checkpoint, and the centralized path
 * trains once on the same shards (epoch 0, worker 0, every batch) from that checkpoint.
 */
async function identicalSitesAndCentral(model: ModelSpec) {
  const a = await makeSite('alpha', fitted, 1600, 31);
  const b = await makeSite('beta', fitted, 1600, 31);
  const global = await globalModel(model, transform);
  const [ua, ub] = [await siteRound(a, model, transform, global), await siteRound(b, model, transform, global)];
  const result = await aggregate(global, [ua, ub]);
  const batches = await countBatches(fitted, a.shards, { split: 'train', batchSize: model.batchSize });
  const central = await trainShards(
    {
      model,
      transform,
      shards: a.shards,
      epoch: 0,
      round: 0,
      worker: 0,
      fromBatch: 0,
      toBatch: batches,
      batchesPerEpoch: batches,
      from: global,
      artifactStore: fileStoreSettings(tempDir('pw-central-')),
    },
    quiet,
  );
  return {
    sites: [a, b],
    updates: [ua, ub],
    result,
    global: await weightsOf(global),
    federated: await weightsOf(result.checkpoint!),
    centralized: await weightsOf(central.checkpoint),
  };
}

const models: Array<[string, ModelSpec]> = [
  ['logistic', logistic],
  ['mlp with dropout', mlp],
];

describe('FedAvg', () => {
  test.each(models)('%s: identical sites train as centralized training; the update is local − global in float64, exactly', async (_name, model) => {
    const { sites, updates, result, global, federated, centralized } = await identicalSitesAndCentral(model);
    expect(updates[0]!.update.sha256).toBe(updates[1]!.update.sha256);
    expect(updates.map((u) => u.update.uri.endsWith('.f64'))).toEqual([true, true]);
    expect(updates.map((u) => u.examples)).toEqual(sites.map((s) => s.trainRows));
    expect(result.used).toEqual(['alpha', 'beta']);
    expect(result.leftOut).toEqual([]);
    expect(maxAbsDiff(federated, global)).toBeGreaterThan(0.01); // it did train

    // The site trained bit for bit as the centralized path, and its update is (centralized − global) in
    // float64, where the difference of two float32 weights is exact: nothing is rounded on the way out.
    const delta = await f64Of(updates[0]!.update);
    expect(delta).toHaveLength(global.length);
    expect(bitsOf(delta).equals(bitsOf(Float64Array.from(centralized, (w, j) => w - global[j]!)))).toBe(true);
    for (let j = 0; j < delta.length; j++) expect(global[j]! + delta[j]!).toBe(centralized[j]);
    // The mean of two identical updates is that update, and the new global model is float32(global + it), rounded once.
    expect(bitsOf(federated).equals(bitsOf(Float32Array.from(global, (w, j) => w + delta[j]!)))).toBe(true);
    // A float32 update would not do: some weight moved by more than its own size loses low bits there.
    const lossy = Float32Array.from(delta);
    expect(Float32Array.from(global, (w, j) => w + lossy[j]!).some((w, j) => w !== centralized[j])).toBe(true);
  });

  // Was test.failing while updates left the sites as float32(local − global): fixed by float64 updates (c3f5f48).
  test.each(models)('%s: identical sites give the weights of centralized training, bit for bit', async (_name, model) => {
    const { federated, centralized } = await identicalSitesAndCentral(model);
    expect(bitsOf(federated).equals(bitsOf(centralized))).toBe(true);
  });

  test('two sites of different sizes: float32(global + Σ (nᵢ/Σn)·Δᵢ), the mean in float64 and rounded once', async () => {
    const global = await globalModel(mlp, transform);
    const u1 = await siteRound(north, mlp, transform, global);
    const u2 = await siteRound(south, mlp, transform, global);
    expect([u1.examples, u2.examples]).toEqual([north.trainRows, south.trainRows]);
    expect(u1.examples).not.toBe(u2.examples);
    const result = await aggregate(global, [u1, u2]);

    const g = await weightsOf(global);
    const [d1, d2] = [await f64Of(u1.update), await f64Of(u2.update)];
    const [n1, n2] = [u1.examples, u2.examples];
    const [s1, s2] = [n1 / (n1 + n2), n2 / (n1 + n2)];
    const expected = new Float32Array(g.length);
    let meanNorm = 0;
    for (let j = 0; j < g.length; j++) {
      const mean = s1 * d1[j]! + s2 * d2[j]!; // float64 throughout: the averaged update
      expect(mean).toBeCloseTo((n1 * d1[j]! + n2 * d2[j]!) / (n1 + n2), 15);
      meanNorm += mean * mean;
      expected[j] = g[j]! + mean; // float64, then one rounding to float32: the new global weight
    }
    const actual = await weightsOf(result.checkpoint!);
    expect(bitsOf(actual).equals(bitsOf(expected))).toBe(true);
    expect(result.updateNorm).toBeCloseTo(Math.sqrt(meanNorm), 12);
    expect(result.checkpoint!.epoch).toBe(1);
  });

  test('an update with a NaN is left out naming the site and the round; below minSites there is no new model', async () => {
    const global = await globalModel(logistic, transform);
    const good = await siteRound(north, logistic, transform, global);
    const poisoned = await f64Of(good.update);
    poisoned[2] = Number.NaN;
    const bad: TrainSiteRoundResult = {
      ...good,
      site: 'south',
      round: 3,
      update: await exchangeStore.putBytes('federated-updates', '.f64', new Uint8Array(poisoned.buffer)),
    };

    const kept = await aggregate(global, [good, bad], { round: 3, minSites: 1 });
    expect(kept.used).toEqual(['north']);
    expect(kept.leftOut).toEqual([
      { site: 'south', reason: `site "south" sent an update with NaN at weight 2 of ${poisoned.length}; it is left out of round 4` },
    ]);
    // The good update alone moves the model: float32(global + Δ).
    const g = await weightsOf(global);
    const d = await f64Of(good.update);
    expect(bitsOf(await weightsOf(kept.checkpoint!)).equals(bitsOf(Float32Array.from(g, (w, j) => w + d[j]!)))).toBe(true);

    const short = await aggregate(global, [good, bad], { round: 3, minSites: 2 });
    expect(short.checkpoint).toBeNull();
    expect(short.used).toEqual([]);
    expect(short.leftOut.map((l) => l.site)).toEqual(['south']);
    expect(short.leftOut[0]!.reason).toContain('round 4');
  });

  test("an older site's float32 update is read as float32; bytes that are not whole weights are left out with their count", async () => {
    const global = await globalModel(logistic, transform);
    const good = await siteRound(north, logistic, transform, global);
    const length = (await f64Of(good.update)).length;
    // A site on an older build: the same update in float32 (.f32), averaged with the float64 one.
    const legacy: TrainSiteRoundResult = {
      ...good,
      site: 'south',
      update: await exchangeStore.putBytes('federated-updates', '.f32', new Uint8Array(Float32Array.from(await f64Of(good.update)).buffer)),
    };
    const both = await aggregate(global, [good, legacy], { minSites: 2 });
    expect(both.used).toEqual(['north', 'south']);
    expect(both.leftOut).toEqual([]);
    // A .f64 update whose bytes are not a whole number of float64 weights.
    const odd = new Uint8Array(length * 8 + 4);
    const torn: TrainSiteRoundResult = { ...good, site: 'west', update: await exchangeStore.putBytes('federated-updates', '.f64', odd) };
    const kept = await aggregate(global, [good, torn], { minSites: 1 });
    expect(kept.used).toEqual(['north']);
    expect(kept.leftOut).toEqual([{ site: 'west', reason: `its update has ${odd.byteLength} bytes, not a whole number of float64 weights` }]);
    // Whole float64 weights, but too few: the shape check names both counts.
    const short: TrainSiteRoundResult = {
      ...good,
      site: 'east',
      update: await exchangeStore.putBytes('federated-updates', '.f64', new Uint8Array(new Float64Array(length - 1).buffer)),
    };
    const shaped = await aggregate(global, [good, short], { minSites: 1 });
    expect(shaped.leftOut).toEqual([
      { site: 'east', reason: `site "east" sent an update of ${length - 1} weights but the model has ${length}; it is left out of round 1` },
    ]);
  });
});

describe('secure aggregation', () => {
  test('masked sum less the revealed self masks ≈ plain FedAvg; a masked update alone is noise; a missing update or self mask leaves masks in', async () => {
    const sites = [north, south, east];
    const secrets = sites.map((_, i) => Buffer.from(`site secret ${i}`, 'utf8'));
    const keySeeds = secrets.map((secret) => runKeySeed(secret, runId));
    const participants = sites.map((s, i) => ({ site: s.name, publicKey: siteKeyPair(Buffer.from(keySeeds[i]!, 'hex')).publicKey }));
    const total = sites.reduce((n, s) => n + s.trainRows, 0);
    const weights = sites.map((s) => s.trainRows / total);
    // What each site reveals once every masked update of round 0, attempt 0 is in.
    const revealed = keySeeds.map((k) => selfMaskSeed(k, 0, 0));

    const global = await globalModel(mlp, transform);
    const plain: TrainSiteRoundResult[] = [];
    const masked: TrainSiteRoundResult[] = [];
    for (const [i, site] of sites.entries()) {
      plain.push(await siteRound(site, mlp, transform, global));
      masked.push(await siteRound(site, mlp, transform, global, { secure: { weight: weights[i]!, participants, attempt: 0 }, keySeed: keySeeds[i]! }));
    }
    expect(plain.every((p) => p.update.uri.endsWith('.f64') && p.norm !== undefined)).toBe(true);
    expect(masked.every((m) => m.update.uri.endsWith('.u32') && m.norm === undefined)).toBe(true);

    const reference = await weightsOf((await aggregate(global, plain, { minSites: 3 })).checkpoint!);
    const secure = await aggregate(global, masked, { minSites: 3, secure: true, selfMaskSeeds: revealed });
    expect(secure.used).toEqual(['north', 'south', 'east']);
    expect(secure.leftOut).toEqual([]);
    const actual = await weightsOf(secure.checkpoint!);
    // Each of the 3 sites rounds its weighted update to 2^-20 (error ≤ 2^-21); both new weights are rounded
    // to float32 once, from float64 means that close, so they differ by at most an ulp more.
    for (let j = 0; j < actual.length; j++) {
      expect(Math.abs(actual[j]! - reference[j]!)).toBeLessThanOrEqual(3 * 2 ** -21 + ulp32(reference[j]!));
    }

    // A single masked update says nothing about the site's own: decoded, it is far from its weighted update.
    const scale = 2 ** FIXED_POINT_BITS;
    const decoded = Float64Array.from(new Int32Array((await u32Of(masked[0]!.update)).buffer), (v) => v / scale);
    const own = Float64Array.from(await f64Of(plain[0]!.update), (v) => v * weights[0]!);
    expect(maxAbsDiff(decoded, own)).toBeGreaterThan(1);

    // Every participant must reveal its self mask: fewer seeds than masked updates is refused.
    await expect(aggregate(global, masked, { minSites: 3, secure: true })).rejects.toThrow(
      'round 1: 3 masked updates but 0 revealed self masks; every participant must reveal its own',
    );
    await expect(aggregate(global, masked, { minSites: 3, secure: true, selfMaskSeeds: revealed.slice(1) })).rejects.toThrow(
      'round 1: 3 masked updates but 2 revealed self masks',
    );
    // Seeds of another attempt take the wrong masks out: the self masks stay in the sum.
    const wrongSeeds = keySeeds.map((k) => selfMaskSeed(k, 0, 1));
    const unmasked = await aggregate(global, masked, { minSites: 3, secure: true, selfMaskSeeds: wrongSeeds });
    expect(maxAbsDiff(await weightsOf(unmasked.checkpoint!), reference)).toBeGreaterThan(1);

    // Only 2 of the 3 masked updates (with their own self masks taken out): the pairs' masks with the third do not cancel.
    const partial = await aggregate(global, masked.slice(0, 2), { minSites: 2, secure: true, selfMaskSeeds: revealed.slice(0, 2) });
    expect(maxAbsDiff(await weightsOf(partial.checkpoint!), reference)).toBeGreaterThan(1);
  });
});

describe('differential privacy', () => {
  const privacy = { clipNorm: 1e-3, noiseMultiplier: 1.1, delta: 1e-5, samplingRate: 1, roundsSoFar: 0 };

  test('updates are clipped at the site; the noise is seeded by (seed, round); ε is the accountant’s', async () => {
    const global = await globalModel(logistic, transform);
    const updates = [await siteRound(north, logistic, transform, global, { clipNorm: privacy.clipNorm })];
    updates.push(await siteRound(south, logistic, transform, global, { clipNorm: privacy.clipNorm }));
    for (const u of updates) {
      expect(u.norm).toBeGreaterThan(privacy.clipNorm);
      expect(u.clipped).toBe(true);
      // Clipped in float64 and sent as float64: the norm is the clip norm to within float64 rounding.
      const norm = l2(await f64Of(u.update));
      expect(norm).toBeLessThanOrEqual(privacy.clipNorm * (1 + 1e-12));
      expect(norm).toBeGreaterThan(privacy.clipNorm * (1 - 1e-12));
    }

    const first = await aggregate(global, updates, { privacy });
    const again = await aggregate(global, updates, { privacy });
    const otherRound = await aggregate(global, updates, { privacy, round: 1 });
    const otherSeed = await aggregate(global, updates, { privacy, seed: 100 });
    const weights = await weightsOf(first.checkpoint!);
    expect(bitsOf(await weightsOf(again.checkpoint!)).equals(bitsOf(weights))).toBe(true);
    expect(maxAbsDiff(await weightsOf(otherRound.checkpoint!), weights)).toBeGreaterThan(0);
    expect(maxAbsDiff(await weightsOf(otherSeed.checkpoint!), weights)).toBeGreaterThan(0);
    // Noise of std 1.1·1e-3/2 per weight: the step is not the plain mean.
    const noiseless = await aggregate(global, updates, { privacy: { ...privacy, noiseMultiplier: 0 } });
    expect(maxAbsDiff(await weightsOf(noiseless.checkpoint!), weights)).toBeGreaterThan(1e-5);
    expect(noiseless.privacy).toBeUndefined();

    expect(Number.isFinite(first.privacy!.epsilon)).toBe(true);
    expect(first.privacy!.epsilon).toBeGreaterThan(0);
    expect(first.privacy).toEqual({ epsilon: privacySpent({ ...privacy, rounds: 1 }).epsilon, delta: privacy.delta });
    const later = await aggregate(global, updates, { privacy: { ...privacy, roundsSoFar: 4 }, round: 4 });
    expect(later.privacy!.epsilon).toBe(privacySpent({ ...privacy, rounds: 5 }).epsilon);
    expect(later.privacy!.epsilon).toBeGreaterThan(first.privacy!.epsilon);
  });
});

describe('FedProx', () => {
  test('a huge mu keeps the local weights at the global ones; a tiny mu gives FedAvg’s update', async () => {
    const global = await globalModel(mlp, transform);
    const fedAvg = await f64Of((await siteRound(north, mlp, transform, global)).update);
    const updateWith = async (mu: number) => f64Of((await siteRound(north, mlp, transform, global, { proximalMu: mu })).update);
    const [huge, middle, tiny] = [await updateWith(1e6), await updateWith(1), await updateWith(1e-6)];
    const norm = l2(fedAvg);
    expect(norm).toBeGreaterThan(0.05);
    expect(l2(huge)).toBeLessThan(1e-3 * norm);
    expect(l2(middle)).toBeLessThan(norm);
    expect(l2(middle)).toBeGreaterThan(l2(huge));
    expect(l2(Float64Array.from(tiny, (v, j) => v - fedAvg[j]!))).toBeLessThan(1e-3 * norm);
  });
});

describe('evaluation at a site', () => {
  test('evaluateAtSite writes one merged, coarsened state to the exchange store with every test row', async () => {
    const global = await globalModel(logistic, transform);
    const before = filesUnder(exchangeRoot);
    const result = await evaluateAtSite(
      { runId, site: north.name, siteIndex: 2, model: global, transform, shards: north.shards, artifactStore: north.store, exchangeStore: exchange },
      quiet,
    );
    const added = filesUnder(exchangeRoot).filter((f) => !before.includes(f));
    expect(added).toEqual([path.relative(exchangeRoot, new URL(result.state.uri).pathname)]);
    expect(result.state).toMatchObject({ partition: 2, rows: north.testRows });
    const state = decodeState(await readArtifactBytes(result.state));
    expect(state.slices).toEqual([]);
    expect(rowsOf(state.overall)).toBe(north.testRows);
    expect(result.metrics.rows).toBe(north.testRows);
    if (state.overall.task !== 'binary') throw new Error(`expected a binary state, got ${state.overall.task}`);
    for (const s of state.overall.scores) expect(Number.isInteger(s * SHARED_SCORE_BINS)).toBe(true);
    // The per-shard states stay in the site's store.
    expect(added[0]).toMatch(/^metric-state\//);
    const siteStates = filesUnder(new URL(north.store.url).pathname).filter((f) => f.startsWith('metric-state/'));
    expect(siteStates).toHaveLength(north.shards.length);
  });

  test('coarsenBinaryState keeps the counts, has at most bins + 1 scores and barely moves the AUC', () => {
    const random = mulberry32(17);
    const rows = 20000;
    const labels = new Float32Array(rows);
    const scores = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      labels[r] = random() < 0.3 ? 1 : 0;
      const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      scores[r] = 1 / (1 + Math.exp(-(1.5 * labels[r]! - 1 + gauss)));
    }
    const state = binaryStateOf(scores, labels, rows);
    expect(state.scores.length).toBeGreaterThan(10000);
    const sum = (a: Float64Array): number => a.reduce((n, v) => n + v, 0);
    for (const bins of [SHARED_SCORE_BINS, 64]) {
      const coarse = coarsenBinaryState(state, bins);
      expect(rowsOf(coarse)).toBe(rows);
      expect(sum(coarse.positives)).toBe(sum(state.positives));
      expect(sum(coarse.negatives)).toBe(sum(state.negatives));
      expect(coarse.scores.length).toBeLessThanOrEqual(bins + 1);
      expect(new Set(coarse.scores).size).toBe(coarse.scores.length);
      for (let i = 1; i < coarse.scores.length; i++) expect(coarse.scores[i]!).toBeGreaterThan(coarse.scores[i - 1]!);
      const auc = (s: typeof state): number => (metricsOf(s) as { auc: number }).auc;
      expect(Math.abs(auc(coarse) - auc(state))).toBeLessThan(0.01);
    }
  });
});

describe('site secret', () => {
  test('made once (0600) and kept; PIPEWRIGHT_SITE_SECRET wins; the key seed differs per run', () => {
    const home = path.join(tempDir('pw-site-home-'), 'nested');
    const secret = loadSiteSecret(undefined, home);
    const file = path.join(home, 'site-secret');
    expect(secret).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readFileSync(file, 'utf8');
    expect(loadSiteSecret(undefined, home).equals(secret)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(written);
    expect(loadSiteSecret(undefined, tempDir('pw-site-home-')).equals(secret)).toBe(false);

    const configured = loadConfig({ PIPEWRIGHT_HOME: home, PIPEWRIGHT_SITE_SECRET: 'from the environment' }).federation.siteSecret;
    expect(loadSiteSecret(configured, home).toString('utf8')).toBe('from the environment');
    expect(readFileSync(file, 'utf8')).toBe(written);

    const seed1 = runKeySeed(secret, 'run-1');
    expect(seed1).toMatch(/^[0-9a-f]{64}$/);
    expect(runKeySeed(secret, 'run-1')).toBe(seed1);
    expect(runKeySeed(secret, 'run-2')).not.toBe(seed1);
    expect(runKeySeed(Buffer.from('another site'), 'run-1')).not.toBe(seed1);
    expect(siteKeyPair(Buffer.from(runKeySeed(secret, 'run-2'), 'hex')).publicKey).not.toBe(siteKeyPair(Buffer.from(seed1, 'hex')).publicKey);
  });

  test('the self-mask seed: 32 bytes from the key seed, the same on a retry, another for every round, attempt and run', () => {
    const keySeed = runKeySeed(Buffer.from('a site secret'), 'run-1');
    const seed = selfMaskSeed(keySeed, 2, 0);
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    expect(selfMaskSeed(keySeed, 2, 0)).toBe(seed);
    const others = [
      selfMaskSeed(keySeed, 2, 1),
      selfMaskSeed(keySeed, 3, 0),
      selfMaskSeed(keySeed, 0, 2),
      selfMaskSeed(runKeySeed(Buffer.from('a site secret'), 'run-2'), 2, 0),
    ];
    expect(new Set([seed, ...others]).size).toBe(5);
    // A seed of its own (HMAC of the key seed), not the key seed that the site's private key comes from.
    expect(seed).not.toBe(keySeed);
  });
});
