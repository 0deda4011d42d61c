import { mulberry32 } from '../random';

/**
 * Differential privacy for federated updates (DP-FedAvg, McMahan et al. 2018): each site's delta is
 * clipped to an L2 norm, Gaussian noise is added to the sum, and a Rényi DP accountant tracks the
 * (ε, δ) spent over the rounds.
 */

/** Scales `delta` down to L2 norm `clipNorm` if it is longer (scale = min(1, C/norm)); `norm` is the norm before clipping. */
export function clipToNorm(delta: ArrayLike<number>, clipNorm: number): { clipped: Float64Array; norm: number; scale: number } {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) throw new Error(`clipToNorm: the clip norm must be a positive number, not ${clipNorm}`);
  let squares = 0;
  for (let j = 0; j < delta.length; j++) squares += delta[j]! * delta[j]!;
  const norm = Math.sqrt(squares);
  if (!Number.isFinite(norm)) throw new Error(`clipToNorm: the update has a norm of ${norm}`);
  const scale = norm > clipNorm ? clipNorm / norm : 1;
  const clipped = new Float64Array(delta.length);
  for (let j = 0; j < delta.length; j++) clipped[j] = delta[j]! * scale;
  return { clipped, norm, scale };
}

/**
 * `length` draws of N(0, std²), deterministic per seed (Box–Muller over mulberry32). The radius
 * takes a 53-bit uniform in (0, 1], so log never sees 0 and the tails reach about 8.6σ instead of
 * stopping at the 6.7σ that a 32-bit uniform allows.
 */
export function gaussianNoise(length: number, std: number, seed: number): Float64Array {
  if (!(Number.isInteger(length) && length >= 0)) throw new Error(`gaussianNoise: length must be a non-negative integer, not ${length}`);
  if (!(Number.isFinite(std) && std >= 0)) throw new Error(`gaussianNoise: std must be finite and not negative, not ${std}`);
  const random = mulberry32(seed);
  const word = (): number => random() * 4294967296; // the generator's raw uint32
  const out = new Float64Array(length);
  if (std === 0) return out; // zeros, not a mix of 0 and -0
  for (let j = 0; j < length; j += 2) {
    const high = word() >>> 5; // 27 bits
    const low = word() >>> 6; // 26 bits
    const u1 = (high * 67108864 + low + 1) / 9007199254740992; // (0, 1] in steps of 2^-53
    const u2 = random();
    const radius = std * Math.sqrt(-2 * Math.log(u1));
    out[j] = radius * Math.cos(2 * Math.PI * u2);
    if (j + 1 < length) out[j + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Integer Rényi orders the accountant tries: 2..256, then a few large ones for small ε. */
export const RDP_ORDERS: readonly number[] = [...Array.from({ length: 255 }, (_, i) => i + 2), 512, 1024];

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

function checkMechanism(noiseMultiplier: number, samplingRate: number): void {
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier > 0))
    throw new Error(`the noise multiplier (noise std / clip norm) must be a positive number, not ${noiseMultiplier}`);
  if (!(samplingRate > 0 && samplingRate <= 1)) throw new Error(`the sampling rate must be in (0, 1], not ${samplingRate}`);
}

/**
 * RDP of one step of the sampled Gaussian mechanism at integer order α (Mironov, Talwar, Zhang
 * 2019): log(A_α)/(α−1), A_α = Σₖ C(α,k) (1−q)^(α−k) qᵏ exp((k²−k)/(2σ²)), summed in log space
 * since the terms overflow doubles for small σ or large α; α/(2σ²) when q = 1.
 */
export function rdpSampledGaussian({ noiseMultiplier, samplingRate, order }: { noiseMultiplier: number; samplingRate: number; order: number }): number {
  checkMechanism(noiseMultiplier, samplingRate);
  if (!(Number.isInteger(order) && order >= 2)) throw new Error(`the Rényi order must be an integer of at least 2, not ${order}`);
  const variance2 = 2 * noiseMultiplier * noiseMultiplier;
  if (samplingRate === 1) return order / variance2;
  const logQ = Math.log(samplingRate);
  const log1mQ = Math.log1p(-samplingRate);
  let logBinomial = 0; // log C(α, 0)
  let logA = -Infinity;
  for (let k = 0; k <= order; k++) {
    if (k > 0) logBinomial += Math.log(order - k + 1) - Math.log(k);
    logA = logAdd(logA, logBinomial + (order - k) * log1mQ + k * logQ + (k * k - k) / variance2);
  }
  return logA / (order - 1);
}

/**
 * (ε, δ) spent by `rounds` rounds of the sampled Gaussian mechanism: RDP composes by adding, and
 * ε = min over α of rounds·RDP(α) + log(1/δ)/(α−1) (Mironov 2017, Prop. 3). Later conversions are
 * a little tighter, so this slightly over-reports ε, the safe side. `order` is the α that gave ε.
 */
export function privacySpent({
  noiseMultiplier,
  samplingRate,
  rounds,
  delta,
}: {
  noiseMultiplier: number;
  samplingRate: number;
  rounds: number;
  delta: number;
}): { epsilon: number; order: number } {
  checkMechanism(noiseMultiplier, samplingRate);
  if (!(Number.isInteger(rounds) && rounds >= 0)) throw new Error(`rounds must be a non-negative integer, not ${rounds}`);
  if (!(delta > 0 && delta < 1)) throw new Error(`delta must be in (0, 1), not ${delta}`);
  if (rounds === 0) return { epsilon: 0, order: RDP_ORDERS[RDP_ORDERS.length - 1]! }; // nothing released yet
  let best = { epsilon: Infinity, order: RDP_ORDERS[0]! };
  for (const order of RDP_ORDERS) {
    const epsilon = rounds * rdpSampledGaussian({ noiseMultiplier, samplingRate, order }) + Math.log(1 / delta) / (order - 1);
    if (epsilon < best.epsilon) best = { epsilon, order };
  }
  return best;
}
