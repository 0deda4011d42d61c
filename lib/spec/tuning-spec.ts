import { z } from 'zod';
import { ACTIVATIONS, type ModelSpec } from './model-spec';
import type { LabelRule } from './pipeline-spec';

/**
 * The `tuning` section of a pipeline spec: a hyperparameter search over the `model` section, run
 * as trials (each one a training child) and compared on the validation rows. Grid runs every
 * combination of choice lists; random samples `trials` points (seeded); asha samples like random
 * and stops weak trials at its rungs (asynchronous successive halving, as Ray Tune's
 * AsyncHyperBandScheduler), with the epoch as the resource.
 */

export const TUNING_STRATEGIES = ['grid', 'random', 'asha'] as const;
/** `loss`: the validation loss; the others: the task's headline validation metric (binary auc, multiclass accuracy, regression rmse). */
export const TUNING_METRICS = ['loss', 'auc', 'accuracy', 'rmse'] as const;
export type TuningMetric = (typeof TUNING_METRICS)[number];

/** At most this many trials: each is a child workflow and its reports are events in the search's history. */
export const MAX_TRIALS = 200;
/**
 * At most this many epoch reports (trials × epochs × rounds per epoch) reach the search. Each is a
 * signal and usually a workflow task of its own (about 4 history events), so this keeps the
 * search's history well inside Temporal's 51,200 events, and its result (every trial's metric per
 * epoch) near 100 KB.
 */
export const MAX_SEARCH_REPORTS = 5_000;

/** What values a tunable model field takes (its model-spec bounds), and so which distributions fit it. */
type Domain =
  | { kind: 'number'; min: number; minExclusive?: boolean; max?: number }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'widths'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] };

/**
 * The model fields a search may vary, with the bounds model-spec.ts gives them. `dropout` sets the
 * dropout of every hidden layer (a per-layer field in the model spec). `epochs` is tunable for
 * grid and random only: ASHA uses epochs as its resource.
 */
const TUNABLE: Readonly<Record<string, Domain>> = {
  learningRate: { kind: 'number', min: 0, minExclusive: true },
  batchSize: { kind: 'int', min: 1, max: 1 << 20 },
  l2: { kind: 'number', min: 0 },
  hidden: { kind: 'widths', min: 1, max: 4096 },
  activation: { kind: 'enum', values: ACTIVATIONS },
  dropout: { kind: 'number', min: 0, max: 0.95 },
  embeddingDim: { kind: 'int', min: 1, max: 512 },
  epochs: { kind: 'int', min: 1, max: 1000 },
};
export const TUNABLE_PARAMS = Object.keys(TUNABLE);

/** A value a trial may give a parameter: a number, an activation's name, or hidden layer widths. */
const choiceValue = z.union([z.number(), z.string(), z.array(z.number())], { error: 'a choice is a number, a string or a list of numbers' });
const bounds = z.tuple([z.number(), z.number()], { error: 'must be [min, max]' });

const paramSpace = z.union(
  [
    z.object({ choice: z.array(choiceValue) }).strict(),
    z.object({ uniform: bounds }).strict(),
    z.object({ logUniform: bounds }).strict(),
    z.object({ intUniform: bounds }).strict(),
  ],
  { error: 'must be {"choice": [values]}, {"uniform": [min, max]}, {"logUniform": [min, max]} or {"intUniform": [min, max]}' },
);
export type ParamSpace = z.infer<typeof paramSpace>;

const ashaSpec = z
  .object({
    /** Epochs every trial trains before its first comparison (the first rung). */
    gracePeriod: z.number().int().min(1).default(1),
    /** η: rungs at gracePeriod · η^k epochs; the top 1/η at a rung go on. */
    reductionFactor: z.number().gt(1, 'reductionFactor must be greater than 1 (3 keeps the top third at each rung)').default(3),
    /** Epochs of a trial that is never stopped; absent: model.epochs. */
    maxResource: z.number().int().min(1).optional(),
  })
  .strict();

const ASHA_DEFAULTS = { gracePeriod: 1, reductionFactor: 3 } as const;

export const tuningSpecSchema = z
  .object({
    strategy: z.enum(TUNING_STRATEGIES, { error: `must be one of ${TUNING_STRATEGIES.join(', ')}` }),
    /** What trials are compared on; absent: the task's headline validation metric. */
    metric: z.enum(TUNING_METRICS, { error: `must be one of ${TUNING_METRICS.join(', ')}` }).optional(),
    /** Trials to sample (random, asha); a grid runs every combination instead. */
    trials: z.number().int().min(1).max(MAX_TRIALS, `at most ${MAX_TRIALS} trials`).optional(),
    /** Trials training at once; a new one starts when one ends or is stopped. */
    parallelism: z.number().int().min(1).max(64).default(2),
    /** Seed of the sampler: the same seed samples the same trials. */
    seed: z.number().int().default(1),
    space: z.record(z.string(), paramSpace),
    asha: ashaSpec.optional(),
  })
  .strict()
  .superRefine((tuning, ctx) => {
    const problem = (path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    const names = Object.keys(tuning.space);
    if (names.length === 0) problem(['space'], `name at least one parameter to tune, e.g. {"learningRate": {"logUniform": [0.0001, 0.1]}}`);
    for (const name of names) {
      for (const message of paramProblems(name, tuning.space[name]!)) problem(['space', name], message);
    }
    if (tuning.strategy === 'grid') {
      if (tuning.trials !== undefined) problem(['trials'], 'a grid runs every combination of the choice lists; drop tuning.trials (or use strategy "random")');
      for (const name of names) {
        if (!('choice' in tuning.space[name]!)) {
          problem(['space', name], `a grid needs every parameter as a choice list: give ${name} as {"choice": [...]}, or use strategy "random"`);
        }
      }
      const size = names.reduce((n, name) => n * choicesOf(tuning.space[name]!).length, 1);
      if (size > MAX_TRIALS)
        problem(['space'], `the grid has ${size} combinations, more than ${MAX_TRIALS}: shorten the choice lists or use strategy "random"`);
    } else if (tuning.trials === undefined) {
      problem(['trials'], `a${tuning.strategy === 'asha' ? 'n asha' : ' random'} search samples tuning.trials trials: set it, e.g. 20`);
    }
    if (tuning.strategy !== 'asha' && tuning.asha !== undefined) problem(['asha'], 'tuning.asha configures strategy "asha"; drop it or set strategy to "asha"');
    if (tuning.strategy === 'asha' && 'epochs' in tuning.space) {
      problem(['space', 'epochs'], 'ASHA uses epochs as its resource (tuning.asha.maxResource); drop epochs from the space, or use strategy "random"');
    }
  })
  .transform((tuning) => (tuning.strategy === 'asha' && tuning.asha === undefined ? { ...tuning, asha: { ...ASHA_DEFAULTS } } : tuning));

export type TuningSpec = z.infer<typeof tuningSpecSchema>;
export type AshaSpec = z.infer<typeof ashaSpec>;

/** The choice list of a parameter's space (empty for a range). */
function choicesOf(space: ParamSpace): unknown[] {
  return 'choice' in space ? space.choice : [];
}

const TUNABLE_LIST = TUNABLE_PARAMS.join(', ');

/** Why one parameter's space is unusable: unknown name, a distribution its values cannot take, an empty range, a value out of bounds. */
function paramProblems(name: string, space: ParamSpace): string[] {
  const domain = TUNABLE[name];
  if (domain === undefined) return [`"${name}" is not a tunable parameter; tunable: ${TUNABLE_LIST}`];
  if ('choice' in space) {
    if (space.choice.length === 0) return [`the choice list of ${name} is empty: list at least one value`];
    return space.choice.map((v) => valueProblem(name, domain, v)).filter((m): m is string => m !== undefined);
  }
  const [kind, [min, max]] =
    'uniform' in space ? ['uniform', space.uniform] : 'logUniform' in space ? ['logUniform', space.logUniform] : ['intUniform', space.intUniform];
  if (domain.kind === 'widths') return [`${name} takes lists of layer widths: give {"choice": [[64, 32], [128]]}`];
  if (domain.kind === 'enum')
    return [`${name} takes names: give {"choice": ["${domain.values[0]}", "${domain.values[1]}"]} (any of ${domain.values.join(', ')})`];
  if (domain.kind === 'int' && kind !== 'intUniform') return [`${name} is a whole number: give {"intUniform": [min, max]} or {"choice": [...]}`];
  if (domain.kind === 'number' && kind === 'intUniform') return [`${name} is not a whole number: give {"uniform": [min, max]} or {"logUniform": [min, max]}`];
  if (kind === 'intUniform' && !(Number.isInteger(min) && Number.isInteger(max)))
    return [`the intUniform bounds of ${name} must be whole numbers, got [${min}, ${max}]`];
  if (!(min < max))
    return [`the ${kind} range of ${name} [${min}, ${max}] is empty: give [min, max] with min below max (a fixed value belongs in the model section)`];
  if (kind === 'logUniform' && min <= 0) return [`the logUniform range of ${name} starts at ${min}: a log scale needs min above 0; raise min or use uniform`];
  return [min, max].map((v) => valueProblem(name, domain, v)).filter((m): m is string => m !== undefined);
}

/** Why a value (a choice or a range's bound) is outside what the model spec accepts for `name`. */
function valueProblem(name: string, domain: Domain, value: unknown): string | undefined {
  const shown = JSON.stringify(value);
  switch (domain.kind) {
    case 'number': {
      if (typeof value !== 'number') return `${name} is a number, got ${shown}`;
      const low = domain.minExclusive ? value <= domain.min : value < domain.min;
      if (low || (domain.max !== undefined && value > domain.max)) return `${name} ${shown} is out of range: ${name} must be ${describeBounds(domain)}`;
      return undefined;
    }
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `${name} is a whole number, got ${shown}`;
      if (value < domain.min || value > domain.max) return `${name} ${shown} is out of range: ${name} must be ${describeBounds(domain)}`;
      return undefined;
    case 'widths':
      if (!Array.isArray(value) || value.some((w) => !Number.isInteger(w) || w < domain.min || w > domain.max)) {
        return `each choice of ${name} is a list of layer widths (whole numbers ${domain.min} to ${domain.max}), got ${shown}`;
      }
      return undefined;
    case 'enum':
      if (typeof value !== 'string' || !domain.values.includes(value)) return `${name} ${shown} is not one of ${domain.values.join(', ')}`;
      return undefined;
  }
}

function describeBounds(domain: Extract<Domain, { kind: 'number' | 'int' }>): string {
  const low = domain.kind === 'number' && domain.minExclusive ? `greater than ${domain.min}` : `at least ${domain.min}`;
  return domain.max === undefined ? low : `${low} and at most ${domain.max}`;
}

/** The spec sections a search depends on besides `tuning`. */
export interface TuningContext {
  split: { validationFraction?: number | undefined };
  model: ModelSpec;
  /** The label, to check tuning.metric against its task; optional. */
  label?: LabelRule;
}

/** A problem of the pipeline spec, by its path from the spec's root (as zod issues take it). */
export interface TuningProblem {
  path: PropertyKey[];
  message: string;
}

/** The validation metric each label task reports (lib/training/validation-score.ts). */
const TASK_METRIC: Readonly<Record<string, TuningMetric>> = { binary: 'auc', multiclass: 'accuracy', regression: 'rmse' };

/**
 * What the tuning section asks that the rest of the spec cannot give: validation rows, enough
 * epochs for ASHA, model fields that exist for this model type, the label task's metric, a
 * history that fits. For the pipeline spec's superRefine (each problem's path is from the root).
 */
export function checkTuning(tuning: TuningSpec, spec: TuningContext): TuningProblem[] {
  const problems: TuningProblem[] = [];
  const problem = (path: PropertyKey[], message: string): number => problems.push({ path, message });
  const { model } = spec;
  if (!((spec.split.validationFraction ?? 0) > 0)) {
    problem(['split', 'validationFraction'], 'tuning needs split.validationFraction > 0 (trials are compared on validation rows)');
  }
  const tuned = (name: string): boolean => name in tuning.space;
  const hiddenLayers = model.type === 'mlp' || model.type === 'wideDeep';
  for (const name of ['hidden', 'activation', 'dropout']) {
    if (tuned(name) && !hiddenLayers)
      problem(['tuning', 'space', name], `a ${model.type} model has no hidden layers to tune ${name} on; use model.type "mlp" or drop ${name}`);
  }
  if (tuned('hidden') && model.layers)
    problem(['tuning', 'space', 'hidden'], 'the model gives model.layers; tuning hidden replaces model.hidden: give the model as model.hidden');
  if (tuned('activation') && model.layers?.some((l) => l.activation !== undefined)) {
    problem(
      ['tuning', 'space', 'activation'],
      "tuning activation sets model.activation, which model.layers' own activations override; drop them or drop activation",
    );
  }
  if (tuned('embeddingDim') && model.type !== 'wideDeep') problem(['tuning', 'space', 'embeddingDim'], 'embeddingDim is for model.type "wideDeep"');

  let epochs = model.epochs;
  if (tuning.strategy === 'asha') {
    const asha = tuning.asha ?? { gracePeriod: 1, reductionFactor: 3 };
    const maxResource = asha.maxResource ?? model.epochs;
    epochs = maxResource;
    if (maxResource > model.epochs) {
      problem(
        ['tuning', 'asha', 'maxResource'],
        `tuning.asha.maxResource (${maxResource}) is more than model.epochs (${model.epochs}): lower it, or raise model.epochs`,
      );
    }
    if (asha.gracePeriod >= maxResource) {
      problem(
        ['tuning', 'asha', 'gracePeriod'],
        `tuning.asha.gracePeriod (${asha.gracePeriod}) must be below the maximum resource (${maxResource} epochs), or no trial is ever compared: lower it, or raise ${asha.maxResource !== undefined ? 'tuning.asha.maxResource' : 'model.epochs'}`,
      );
    }
  } else if (tuning.space.epochs && 'intUniform' in tuning.space.epochs) {
    epochs = tuning.space.epochs.intUniform[1];
  } else if (tuning.space.epochs && 'choice' in tuning.space.epochs) {
    epochs = Math.max(...tuning.space.epochs.choice.filter((v): v is number => typeof v === 'number'));
  }

  if (tuning.metric !== undefined && tuning.metric !== 'loss' && spec.label) {
    const task = 'task' in spec.label ? spec.label.task : 'binary';
    const reported = TASK_METRIC[task]!;
    if (tuning.metric !== reported) {
      problem(
        ['tuning', 'metric'],
        `a ${task} label reports the validation metric "${reported}", not "${tuning.metric}": set tuning.metric to "${reported}" or "loss"`,
      );
    }
  }

  const trials = tuning.strategy === 'grid' ? Object.values(tuning.space).reduce((n, s) => n * choicesOf(s).length, 1) : (tuning.trials ?? 0);
  const reports = trials * epochs * (model.parallelism?.roundsPerEpoch ?? 1);
  if (reports > MAX_SEARCH_REPORTS) {
    problem(
      ['tuning', tuning.strategy === 'grid' ? 'space' : 'trials'],
      `the search would get ${reports} progress reports (trials × epochs × rounds per epoch), more than ${MAX_SEARCH_REPORTS} its history can hold: run fewer trials, epochs or model.parallelism.roundsPerEpoch`,
    );
  }
  return problems;
}
