/**
 * Federated averaging (McMahan et al. 2017) and FedProx (Li et al. 2020) over weight vectors.
 * Pure functions: the workflow decides which sites take part, the activities train and aggregate.
 */

/** One site's contribution to a round: its local weights minus the global weights it started from. */
export type SiteUpdate = { site: string; delta: Float64Array | Float32Array; weight: number };

/** An update that cannot be aggregated; the round continues without that site. */
export class FederatedUpdateError extends Error {
  constructor(
    message: string,
    readonly site: string,
    readonly round: number,
  ) {
    super(message);
    this.name = 'FederatedUpdateError';
  }
}

/** Refuses an update of the wrong length or with a NaN or infinite value, which would poison the mean for every site. */
export function checkUpdate(site: string, delta: ArrayLike<number>, expectedLength: number, round: number): void {
  if (delta.length !== expectedLength)
    throw new FederatedUpdateError(
      `site "${site}" sent an update of ${delta.length} weights but the model has ${expectedLength}; it is left out of round ${round}`,
      site,
      round,
    );
  for (let i = 0; i < delta.length; i++) {
    const value = delta[i]!;
    if (!Number.isFinite(value))
      throw new FederatedUpdateError(
        `site "${site}" sent an update with ${value} at weight ${i} of ${delta.length}; it is left out of round ${round}`,
        site,
        round,
      );
  }
}

/**
 * Σ (wᵢ / Σ w)·deltaᵢ in float64, in the order given so every replay gets the same bits. Kept in
 * float64 until it is added to the global weights (applyDelta rounds once): a float32 mean would
 * lose the low bits of a weight that moved by more than its own size. Identical deltas give that
 * delta exactly (shares of equal weights sum exactly).
 */
export function weightedMean(updates: readonly SiteUpdate[]): Float64Array {
  if (updates.length === 0) throw new Error('weightedMean needs at least one update');
  const length = updates[0]!.delta.length;
  let total = 0;
  for (const u of updates) {
    if (u.delta.length !== length) throw new Error(`site "${u.site}" sent ${u.delta.length} weights but site "${updates[0]!.site}" sent ${length}`);
    if (!(Number.isFinite(u.weight) && u.weight >= 0)) throw new Error(`site "${u.site}" has weight ${u.weight}; weights must be finite and not negative`);
    total += u.weight;
  }
  if (!(total > 0)) throw new Error('weightedMean: the sites have a total weight of 0');
  const shares = updates.map((u) => u.weight / total);
  const out = new Float64Array(length);
  for (let j = 0; j < length; j++) {
    let sum = 0;
    for (let i = 0; i < updates.length; i++) sum += shares[i]! * updates[i]!.delta[j]!;
    out[j] = sum;
  }
  return out;
}

/** global + serverLearningRate · delta, rounded once to a new float32 vector. */
export function applyDelta(global: Float32Array, delta: ArrayLike<number>, serverLearningRate = 1): Float32Array {
  if (delta.length !== global.length) throw new Error(`the delta has ${delta.length} values but the global model has ${global.length} weights`);
  const out = new Float32Array(global.length);
  for (let j = 0; j < global.length; j++) out[j] = global[j]! + serverLearningRate * delta[j]!;
  return out;
}

/**
 * FedProx's proximal term (μ/2)‖w − anchor‖², applied in place after each local optimizer step as
 * its exact proximal operator with step η: w ← (w + η·μ·anchor) / (1 + η·μ). The loss is computed
 * inside a fused kernel we do not change, so the term cannot be added to the loss; this is the
 * same move as decoupled weight decay, but toward the global weights instead of toward zero.
 * μ = 0 leaves the weights as they are. Returns `weights`.
 */
export function fedProxStep(weights: Float32Array, anchor: Float32Array, learningRate: number, mu: number): Float32Array {
  if (anchor.length !== weights.length) throw new Error(`the anchor has ${anchor.length} values but the model has ${weights.length} weights`);
  if (!(Number.isFinite(learningRate) && learningRate >= 0))
    throw new Error(`fedProxStep: the learning rate must be finite and not negative, not ${learningRate}`);
  if (!(Number.isFinite(mu) && mu >= 0)) throw new Error(`fedProxStep: mu must be finite and not negative, not ${mu}`);
  const pull = learningRate * mu;
  if (pull === 0) return weights;
  const scale = 1 + pull;
  for (let j = 0; j < weights.length; j++) weights[j] = (weights[j]! + pull * anchor[j]!) / scale;
  return weights;
}
