import type { ParamSpace, TuningSpec } from '../../lib/spec/tuning-spec';
import type { ParamValue, TrialParams } from '../../contracts';

/**
 * The trials a search runs, decided before the first one starts: a grid's every combination, or
 * `trials` points sampled with a seeded generator, so the same spec always runs the same trials
 * (and the workflow replays them).
 */
export function planTrials(tuning: Pick<TuningSpec, 'strategy' | 'space' | 'trials' | 'seed'>): TrialParams[] {
  return tuning.strategy === 'grid' ? gridTrials(tuning.space) : sampleTrials(tuning.space, tuning.trials ?? 0, tuning.seed);
}

/** Every combination of the choice lists (the first parameter varies slowest), as itertools.product. */
export function gridTrials(space: Record<string, ParamSpace>): TrialParams[] {
  let trials: TrialParams[] = [{}];
  for (const [name, values] of Object.entries(space)) {
    if (!('choice' in values)) throw new RangeError(`a grid needs every parameter as a choice list; ${name} is not`);
    trials = trials.flatMap((t) => values.choice.map((v) => ({ ...t, [name]: v })));
  }
  return trials;
}

/** `count` trials, each parameter drawn in the space's order from one mulberry32 stream seeded by `seed`. */
export function sampleTrials(space: Record<string, ParamSpace>, count: number, seed: number): TrialParams[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Object.fromEntries(Object.entries(space).map(([name, s]) => [name, draw(s, next)])));
}

/** One value of a parameter's distribution, from u in [0, 1). */
function draw(space: ParamSpace, next: () => number): ParamValue {
  const u = next();
  if ('choice' in space) return space.choice[Math.min(space.choice.length - 1, Math.floor(u * space.choice.length))]!;
  if ('uniform' in space) {
    const [min, max] = space.uniform;
    return min + u * (max - min);
  }
  if ('logUniform' in space) {
    const [min, max] = space.logUniform;
    // exp(log(x)) can land an ulp outside the range: clamp.
    return Math.min(max, Math.max(min, Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)))));
  }
  const [min, max] = space.intUniform;
  return min + Math.min(max - min, Math.floor(u * (max - min + 1)));
}

/** mulberry32: a tiny, fast 32-bit PRNG, uniform in [0, 1); workflow code may not import lib/'s. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
