import type { AggregateRoundInput, AggregateRoundResult, SiteLeftOut } from '../../contracts/federated';
import { openArtifactStore, type ArtifactStoreSettings } from '../artifacts/artifact-store';
import { deriveSeed } from '../random';
import type { SavedModel } from '../models/model-io';
import { verifiedArtifactBytes } from '../training/checkpoints';
import { gaussianNoise, privacySpent } from './differential-privacy';
import { applyDelta, checkUpdate, FederatedUpdateError, weightedMean, type SiteUpdate } from './fed-avg';
import { weightVector, withWeightVector } from './model-vector';
import { decodeFixedPoint, removeSelfMasks, sumVectors } from './secure-aggregation';

export type AggregateRoundTask = AggregateRoundInput & { artifactStore: ArtifactStoreSettings };

/**
 * The coordinator's join of a round: reads the sites' updates and moves the global model along
 * their mean.
 * - FedAvg / FedProx: each update is checked (shape, finite values; a bad one is left out, naming
 *   the site) and weighted by the examples its site trained on.
 * - Secure aggregation: the updates are masked and already weighted by their sites; only their sum
 *   means anything, so it is decoded once the masks have cancelled. A bad shape leaves the whole
 *   round out, since the sum cannot be taken without every participant.
 * - Differential privacy: the clipped updates are averaged with equal weights over the sites asked
 *   (a fixed denominator), and Gaussian noise of std noiseMultiplier · clipNorm / asked is added to
 *   the mean, drawn from a seed of (run seed, round) so a retried join writes the same model.
 * Fewer usable updates than minSites: no new model (the workflow fails or skips the round).
 */
export async function aggregateRound(input: AggregateRoundTask): Promise<AggregateRoundResult> {
  const globalSaved = JSON.parse((await verifiedArtifactBytes(input.global)).toString('utf8')) as SavedModel;
  const global = weightVector(globalSaved);
  const leftOut: SiteLeftOut[] = [];
  const round = input.round + 1;
  let mean: Float64Array | null = null;
  let used: string[] = [];

  if (input.secure) {
    const vectors: Uint32Array[] = [];
    for (const u of input.updates) {
      if (u.length !== global.length) {
        leftOut.push({ site: u.site, reason: `its update has ${u.length} weights, the global model ${global.length}` });
        continue;
      }
      const bytes = await verifiedArtifactBytes(u.update);
      if (bytes.byteLength !== global.length * 4) {
        leftOut.push({ site: u.site, reason: `its masked update has ${bytes.byteLength} bytes, not ${global.length * 4} (one word per weight)` });
        continue;
      }
      vectors.push(new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
    }
    if (leftOut.length === 0 && vectors.length >= input.minSites) {
      const seeds = (input.selfMaskSeeds ?? []).map((hex) => Buffer.from(hex, 'hex'));
      if (seeds.length !== vectors.length)
        throw new Error(`round ${round}: ${vectors.length} masked updates but ${seeds.length} revealed self masks; every participant must reveal its own`);
      mean = decodeFixedPoint(removeSelfMasks(sumVectors(vectors), seeds));
      used = input.updates.map((u) => u.site);
    } else if (leftOut.length > 0) {
      for (const u of input.updates)
        if (!leftOut.some((l) => l.site === u.site)) leftOut.push({ site: u.site, reason: 'its masks cannot cancel without the sites left out' });
    }
  } else {
    const good: SiteUpdate[] = [];
    for (const u of input.updates) {
      const bytes = await verifiedArtifactBytes(u.update);
      // A site on an older build sends float32 (.f32); this one float64 (.f64).
      const width = u.update.uri.endsWith('.f32') ? 4 : 8;
      if (bytes.byteLength % width !== 0) {
        leftOut.push({ site: u.site, reason: `its update has ${bytes.byteLength} bytes, not a whole number of float${width * 8} weights` });
        continue;
      }
      const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const delta = width === 4 ? new Float32Array(copy) : new Float64Array(copy);
      try {
        checkUpdate(u.site, delta, global.length, round);
      } catch (err) {
        if (!(err instanceof FederatedUpdateError)) throw err;
        leftOut.push({ site: u.site, reason: err.message });
        continue;
      }
      good.push({ site: u.site, delta, weight: input.privacy ? 1 : u.examples });
    }
    if (good.length >= input.minSites) {
      mean = weightedMean(good);
      used = good.map((g) => g.site);
      // DP's fixed denominator: the mean over the sites asked, not over those that answered.
      if (input.privacy && good.length !== input.asked) {
        const scale = good.length / input.asked;
        for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! * scale;
      }
    }
  }
  if (mean === null) return { checkpoint: null, used: [], leftOut, updateNorm: 0 };

  let privacy: AggregateRoundResult['privacy'];
  if (input.privacy) {
    const { clipNorm, noiseMultiplier, delta, samplingRate, roundsSoFar } = input.privacy;
    // Without noise, clipping bounds each site's influence but gives no (ε, δ) guarantee: none is reported.
    if (noiseMultiplier > 0) {
      const noise = gaussianNoise(mean.length, (noiseMultiplier * clipNorm) / input.asked, deriveSeed(input.seed, 'dp-noise', input.round));
      for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! + noise[i]!;
      privacy = { epsilon: privacySpent({ noiseMultiplier, samplingRate, rounds: roundsSoFar + 1, delta }).epsilon, delta };
    }
  }
  let norm = 0;
  for (let i = 0; i < mean.length; i++) norm += mean[i]! * mean[i]!;
  const next = applyDelta(global, mean, input.serverLearningRate);
  const saved = await openArtifactStore(input.artifactStore).putJson('checkpoints', withWeightVector(globalSaved, next));
  return {
    checkpoint: { ...saved, epoch: round },
    used,
    leftOut,
    updateNorm: Math.sqrt(norm),
    ...(privacy ? { privacy: { epsilon: privacy.epsilon, delta: privacy.delta } } : {}),
  };
}
