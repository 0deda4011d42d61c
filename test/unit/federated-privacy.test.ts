import { clipToNorm, gaussianNoise, privacySpent, RDP_ORDERS, rdpSampledGaussian } from '../../lib/federated/differential-privacy';

describe('clipToNorm', () => {
  test('scales a long update down to the clip norm, in float64', () => {
    const { clipped, norm, scale } = clipToNorm(Float32Array.of(3, 4), 1);
    expect(norm).toBe(5);
    expect(scale).toBe(0.2);
    expect(clipped).toBeInstanceOf(Float64Array);
    expect(clipped).toEqual(Float64Array.of(3 * 0.2, 4 * 0.2));
  });

  test('takes float64 deltas and plain arrays, and keeps their float64 bits', () => {
    // 0.1 + 2^-40 is not a float32: a float32 step anywhere would lose the 2^-40.
    const fine = 0.1 + 2 ** -40;
    expect(Math.fround(fine)).not.toBe(fine);
    expect(clipToNorm(Float64Array.of(fine, -fine), 10).clipped).toEqual(Float64Array.of(fine, -fine));
    expect(clipToNorm([fine, 0], 10).clipped).toEqual(Float64Array.of(fine, 0));
    const { clipped, norm } = clipToNorm([3e-30, 4e-30], 1e-30);
    expect(norm).toBeCloseTo(5e-30, 44);
    expect(clipped[0]).toBeCloseTo(0.6e-30, 44);
    expect(clipped[1]).toBeCloseTo(0.8e-30, 44);
  });

  test('leaves a short update (and a zero one) as it is, in a new float64 array', () => {
    const delta = Float64Array.of(3, 4);
    const { clipped, norm, scale } = clipToNorm(delta, 10);
    expect([norm, scale]).toEqual([5, 1]);
    expect(clipped).toEqual(delta);
    expect(clipped).not.toBe(delta);
    expect(clipToNorm(Float32Array.of(3, 4), 10).clipped).toEqual(Float64Array.of(3, 4));
    expect(clipToNorm(new Float32Array(3), 1)).toEqual({ clipped: new Float64Array(3), norm: 0, scale: 1 });
  });

  test('the clipped norm is the clip norm, to float64 rounding', () => {
    const delta = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const { clipped } = clipToNorm(delta, 2);
    expect(Math.abs(Math.hypot(...clipped) - 2)).toBeLessThan(1e-12);
  });

  test('refuses a clip norm that is not positive, and an update whose norm is not finite', () => {
    expect(() => clipToNorm(new Float32Array(2), 0)).toThrow('the clip norm must be a positive number, not 0');
    expect(() => clipToNorm([1, Number.NaN], 1)).toThrow('clipToNorm: the update has a norm of NaN');
    expect(() => clipToNorm(Float64Array.of(1e200, 1e200), 1)).toThrow('clipToNorm: the update has a norm of Infinity');
  });
});

describe('gaussianNoise', () => {
  test('deterministic per seed; another seed, other noise; a shorter draw is a prefix', () => {
    expect(gaussianNoise(101, 1, 5)).toEqual(gaussianNoise(101, 1, 5));
    expect(gaussianNoise(101, 1, 5)).not.toEqual(gaussianNoise(101, 1, 6));
    expect(gaussianNoise(7, 1, 5)).toEqual(gaussianNoise(8, 1, 5).subarray(0, 7));
    expect(gaussianNoise(4, 0, 5)).toEqual(new Float64Array(4));
  });

  test('mean ≈ 0 and std ≈ the requested std over 200k draws', () => {
    const std = 2.5;
    const n = 200_000;
    const noise = gaussianNoise(n, std, 20240611);
    let sum = 0;
    let squares = 0;
    let beyond2 = 0;
    let infinite = 0;
    for (const x of noise) {
      if (!Number.isFinite(x)) infinite++;
      sum += x;
      squares += x * x;
      if (Math.abs(x) > 2 * std) beyond2++;
    }
    expect(infinite).toBe(0);
    const mean = sum / n;
    const sd = Math.sqrt(squares / n - mean * mean);
    // Standard errors: std/√n ≈ 0.0056 for the mean, std/√(2n) ≈ 0.004 for the std.
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - std)).toBeLessThan(0.025);
    // P(|Z| > 2) ≈ 4.55%.
    expect(beyond2 / n).toBeGreaterThan(0.042);
    expect(beyond2 / n).toBeLessThan(0.049);
  });

  test('refuses a negative std', () => {
    expect(() => gaussianNoise(3, -1, 1)).toThrow('std must be finite and not negative');
  });
});

describe('privacySpent', () => {
  test('orders 2..256, 512 and 1024', () => {
    expect(RDP_ORDERS[0]).toBe(2);
    expect(RDP_ORDERS.slice(-3)).toEqual([256, 512, 1024]);
    expect(RDP_ORDERS).toHaveLength(257);
  });

  test('q = 1: the plain Gaussian mechanism, min over α of rounds·α/(2σ²) + log(1/δ)/(α−1), by brute force', () => {
    for (const [sigma, rounds, delta] of [
      [2, 10, 1e-5],
      [1, 1, 1e-6],
      [5, 100, 1e-3],
      [30, 3, 1e-9],
    ] as const) {
      let best = Infinity;
      let bestOrder = 0;
      for (let alpha = 2; alpha <= 256; alpha++) {
        const epsilon = (rounds * alpha) / (2 * sigma * sigma) + Math.log(1 / delta) / (alpha - 1);
        if (epsilon < best) [best, bestOrder] = [epsilon, alpha];
      }
      const spent = privacySpent({ noiseMultiplier: sigma, samplingRate: 1, rounds, delta });
      expect(spent.epsilon).toBeCloseTo(best, 12);
      expect(spent.order).toBe(bestOrder);
    }
  });

  test('monotone: more rounds, less noise or more sampling spend more', () => {
    const base = { noiseMultiplier: 1.1, samplingRate: 0.01, rounds: 1000, delta: 1e-5 };
    const epsilon = (change: Partial<typeof base>): number => privacySpent({ ...base, ...change }).epsilon;
    expect(epsilon({ rounds: 2000 })).toBeGreaterThan(epsilon({}));
    expect(epsilon({ rounds: 10 })).toBeLessThan(epsilon({}));
    expect(epsilon({ noiseMultiplier: 2 })).toBeLessThan(epsilon({}));
    expect(epsilon({ noiseMultiplier: 0.8 })).toBeGreaterThan(epsilon({}));
    expect(epsilon({ samplingRate: 0.001 })).toBeLessThan(epsilon({}));
    expect(epsilon({ samplingRate: 0.1 })).toBeGreaterThan(epsilon({}));
    expect(epsilon({ delta: 1e-8 })).toBeGreaterThan(epsilon({}));
    expect(privacySpent({ ...base, rounds: 0 }).epsilon).toBe(0);
  });

  // Reference values from TensorFlow Privacy (tensorflow/privacy, tensorflow_privacy/privacy/analysis):
  // rdp_accountant_test.py asserts compute_rdp(0.1, 2, 10, 5) ≈ 0.07737 and
  // compute_rdp(0.01, 2.5, 50, [.., 5, 50, 100, ..]) ≈ [.., 0.00218075, 0.023846, 167.416307, ..] (to 1e-5).
  test('RDP at integer orders matches TensorFlow Privacy compute_rdp', () => {
    expect(10 * rdpSampledGaussian({ noiseMultiplier: 2, samplingRate: 0.1, order: 5 })).toBeCloseTo(0.07737, 5);
    const rdp = (order: number): number => 50 * rdpSampledGaussian({ noiseMultiplier: 2.5, samplingRate: 0.01, order });
    expect(rdp(5)).toBeCloseTo(0.00218075, 5);
    expect(rdp(50)).toBeCloseTo(0.023846, 5);
    expect(rdp(100)).toBeCloseTo(167.416307, 5);
    expect(rdpSampledGaussian({ noiseMultiplier: 10, samplingRate: 1, order: 20 })).toBe(0.1);
  });

  // compute_dp_sgd_privacy.py (same classic conversion, orders including 5..63): N = 60000,
  // batch 256, noise multiplier 1.12, 60 epochs, δ = 1e-5 "satisfies (2.92, 1e-5)-DP"; the tutorials'
  // README table also gives 1.20 for noise 1.2 over 10 epochs. Both optima are integer orders.
  test('ε matches TensorFlow Privacy for DP-SGD on MNIST', () => {
    const q = 256 / 60000;
    const steps = (epochs: number): number => Math.ceil((epochs * 60000) / 256);
    const a = privacySpent({ noiseMultiplier: 1.12, samplingRate: q, rounds: steps(60), delta: 1e-5 });
    expect(a.epsilon).toBeCloseTo(2.92, 2);
    expect(a.order).toBe(9);
    const b = privacySpent({ noiseMultiplier: 1.2, samplingRate: q, rounds: steps(10), delta: 1e-5 });
    expect(b.epsilon).toBeCloseTo(1.2, 2);
    // The README's 9.74 for noise 0.6 over 30 epochs comes from a fractional order near 3, which we
    // do not try: ours is a slightly larger (safe) bound.
    const c = privacySpent({ noiseMultiplier: 0.6, samplingRate: q, rounds: steps(30), delta: 1e-5 });
    expect(c.epsilon).toBeGreaterThanOrEqual(9.74);
    expect(c.epsilon).toBeLessThan(9.8);
  });

  test('stays finite where the terms of A_α overflow doubles', () => {
    const rdp = rdpSampledGaussian({ noiseMultiplier: 0.3, samplingRate: 1e-3, order: 1024 });
    expect(Number.isFinite(rdp)).toBe(true);
    expect(rdp).toBeGreaterThan(0);
    expect(Number.isFinite(privacySpent({ noiseMultiplier: 0.3, samplingRate: 1e-6, rounds: 10, delta: 1e-5 }).epsilon)).toBe(true);
  });

  test('validates its inputs', () => {
    const ok = { noiseMultiplier: 1, samplingRate: 0.1, rounds: 10, delta: 1e-5 };
    expect(() => privacySpent({ ...ok, noiseMultiplier: 0 })).toThrow('the noise multiplier (noise std / clip norm) must be a positive number, not 0');
    expect(() => privacySpent({ ...ok, samplingRate: 0 })).toThrow('the sampling rate must be in (0, 1], not 0');
    expect(() => privacySpent({ ...ok, samplingRate: 1.5 })).toThrow('the sampling rate must be in (0, 1], not 1.5');
    expect(() => privacySpent({ ...ok, delta: 1 })).toThrow('delta must be in (0, 1), not 1');
    expect(() => privacySpent({ ...ok, delta: 0 })).toThrow('delta must be in (0, 1), not 0');
    expect(() => privacySpent({ ...ok, rounds: -1 })).toThrow('rounds must be a non-negative integer, not -1');
    expect(() => rdpSampledGaussian({ noiseMultiplier: 1, samplingRate: 0.1, order: 1.5 })).toThrow('integer of at least 2');
  });
});
