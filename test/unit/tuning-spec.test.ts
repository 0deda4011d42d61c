/** The `tuning` section: its schema's messages, and the cross-field checks the pipeline spec runs (checkTuning). */
import { modelSpecSchema, type ModelSpec } from '../../lib/spec/model-spec';
import { checkTuning, MAX_TRIALS, TUNABLE_PARAMS, tuningSpecSchema, type TuningSpec } from '../../lib/spec/tuning-spec';

/** The messages of a tuning section that fails to parse, as "path: message". */
function problemsOf(value: unknown): string[] {
  const result = tuningSpecSchema.safeParse(value);
  if (result.success) throw new Error(`expected problems, but it parsed: ${JSON.stringify(result.data)}`);
  return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const lr = { learningRate: { logUniform: [0.0001, 0.1] } };

describe('tuning spec', () => {
  test('defaults: parallelism 2, seed 1; asha gets grace 1 and η 3', () => {
    expect(tuningSpecSchema.parse({ strategy: 'random', trials: 4, space: lr })).toEqual({ strategy: 'random', trials: 4, parallelism: 2, seed: 1, space: lr });
    expect(tuningSpecSchema.parse({ strategy: 'asha', trials: 9, space: lr }).asha).toEqual({ gracePeriod: 1, reductionFactor: 3 });
    expect(tuningSpecSchema.parse({ strategy: 'asha', trials: 9, space: lr, asha: { maxResource: 9 } }).asha).toEqual({
      gracePeriod: 1,
      reductionFactor: 3,
      maxResource: 9,
    });
  });

  test('every kind of distribution parses', () => {
    const space = {
      learningRate: { logUniform: [1e-4, 1e-1] },
      l2: { uniform: [0, 0.001] },
      batchSize: { intUniform: [256, 4096] },
      hidden: { choice: [[64, 32], [128]] },
      activation: { choice: ['relu', 'tanh'] },
      dropout: { uniform: [0, 0.5] },
      embeddingDim: { choice: [8, 16] },
      epochs: { choice: [2, 4] },
    };
    expect(tuningSpecSchema.parse({ strategy: 'random', trials: 3, space }).space).toEqual(space);
  });

  test.each([
    [
      { learningRate: { uniform: [0.1, 0.01] } },
      'space.learningRate: the uniform range of learningRate [0.1, 0.01] is empty: give [min, max] with min below max',
    ],
    [{ learningRate: { uniform: [0.01, 0.01] } }, 'space.learningRate: the uniform range of learningRate [0.01, 0.01] is empty'],
    [{ batchSize: { intUniform: [64, 32] } }, 'space.batchSize: the intUniform range of batchSize [64, 32] is empty'],
    [{ learningRate: { choice: [] } }, 'space.learningRate: the choice list of learningRate is empty: list at least one value'],
    [{ l2: { logUniform: [0, 0.1] } }, 'space.l2: the logUniform range of l2 starts at 0: a log scale needs min above 0; raise min or use uniform'],
  ])('an empty range is an error naming the parameter and the fix: %j', (space, message) => {
    expect(problemsOf({ strategy: 'random', trials: 4, space })).toEqual([expect.stringContaining(message)]);
  });

  test('an unknown parameter is named, with the tunable ones listed', () => {
    expect(problemsOf({ strategy: 'random', trials: 4, space: { learningrate: { uniform: [0.001, 0.1] } } })).toEqual([
      `space.learningrate: "learningrate" is not a tunable parameter; tunable: ${TUNABLE_PARAMS.join(', ')}`,
    ]);
    expect(TUNABLE_PARAMS).toEqual(['learningRate', 'batchSize', 'l2', 'hidden', 'activation', 'dropout', 'embeddingDim', 'epochs']);
  });

  test('values outside the model spec bounds, and distributions a parameter cannot take', () => {
    expect(problemsOf({ strategy: 'random', trials: 2, space: { learningRate: { uniform: [0, 0.1] } } })).toEqual([
      'space.learningRate: learningRate 0 is out of range: learningRate must be greater than 0',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { dropout: { choice: [0.1, 0.99] } } })).toEqual([
      'space.dropout: dropout 0.99 is out of range: dropout must be at least 0 and at most 0.95',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { batchSize: { uniform: [16, 64] } } })).toEqual([
      'space.batchSize: batchSize is a whole number: give {"intUniform": [min, max]} or {"choice": [...]}',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { batchSize: { choice: [16, 32.5] } } })).toEqual([
      'space.batchSize: batchSize is a whole number, got 32.5',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { learningRate: { intUniform: [1, 2] } } })).toEqual([
      'space.learningRate: learningRate is not a whole number: give {"uniform": [min, max]} or {"logUniform": [min, max]}',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { hidden: { choice: [64, 32] } } })).toEqual([
      'space.hidden: each choice of hidden is a list of layer widths (whole numbers 1 to 4096), got 64',
      'space.hidden: each choice of hidden is a list of layer widths (whole numbers 1 to 4096), got 32',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { activation: { choice: ['relu', 'gelu'] } } })).toEqual([
      'space.activation: activation "gelu" is not one of relu, elu, selu, tanh, sigmoid, softplus, linear',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 2, space: { learningRate: { normal: [0, 1] } } })).toEqual([
      'space.learningRate: must be {"choice": [values]}, {"uniform": [min, max]}, {"logUniform": [min, max]} or {"intUniform": [min, max]}',
    ]);
  });

  test('strategy rules: trials for random and asha, choice lists for grid, no epochs under asha, asha settings only for asha', () => {
    expect(problemsOf({ strategy: 'random', space: lr })).toEqual(['trials: a random search samples tuning.trials trials: set it, e.g. 20']);
    expect(problemsOf({ strategy: 'asha', space: lr })).toEqual(['trials: an asha search samples tuning.trials trials: set it, e.g. 20']);
    expect(problemsOf({ strategy: 'grid', space: lr })).toEqual([
      'space.learningRate: a grid needs every parameter as a choice list: give learningRate as {"choice": [...]}, or use strategy "random"',
    ]);
    expect(problemsOf({ strategy: 'grid', trials: 3, space: { learningRate: { choice: [0.1] } } })).toEqual([
      'trials: a grid runs every combination of the choice lists; drop tuning.trials (or use strategy "random")',
    ]);
    expect(problemsOf({ strategy: 'asha', trials: 3, space: { epochs: { choice: [1, 2] } } })).toEqual([
      'space.epochs: ASHA uses epochs as its resource (tuning.asha.maxResource); drop epochs from the space, or use strategy "random"',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 3, space: lr, asha: {} })).toEqual([
      'asha: tuning.asha configures strategy "asha"; drop it or set strategy to "asha"',
    ]);
    expect(problemsOf({ strategy: 'asha', trials: 3, space: lr, asha: { reductionFactor: 1 } })).toEqual([
      'asha.reductionFactor: reductionFactor must be greater than 1 (3 keeps the top third at each rung)',
    ]);
    expect(problemsOf({ strategy: 'random', trials: 3, space: {} })).toEqual([
      'space: name at least one parameter to tune, e.g. {"learningRate": {"logUniform": [0.0001, 0.1]}}',
    ]);
    const big = Array.from({ length: 21 }, (_, i) => 0.001 * (i + 1));
    expect(problemsOf({ strategy: 'grid', space: { learningRate: { choice: big }, l2: { choice: big } } })).toEqual([
      `space: the grid has 441 combinations, more than ${MAX_TRIALS}: shorten the choice lists or use strategy "random"`,
    ]);
    expect(problemsOf({ strategy: 'random', trials: 3, space: lr, extra: 1 })).toEqual([expect.stringMatching(/Unrecognized key: "extra"/)]);
  });
});

describe('checkTuning: what the rest of the spec must give a search', () => {
  const model = (m: object = {}): ModelSpec => modelSpecSchema.parse({ type: 'mlp', hidden: [64, 32], epochs: 9, ...m });
  const tuning = (t: object): TuningSpec => tuningSpecSchema.parse(t);
  const split = { validationFraction: 0.1 };
  const messages = (t: TuningSpec, ctx: Parameters<typeof checkTuning>[1]): string[] => checkTuning(t, ctx).map((p) => `${p.path.join('.')}: ${p.message}`);

  test('a fitting spec has no problems', () => {
    expect(checkTuning(tuning({ strategy: 'asha', trials: 27, space: lr }), { split, model: model() })).toEqual([]);
  });

  test('validation rows are needed', () => {
    const t = tuning({ strategy: 'random', trials: 4, space: lr });
    const expected = ['split.validationFraction: tuning needs split.validationFraction > 0 (trials are compared on validation rows)'];
    expect(messages(t, { split: {}, model: model() })).toEqual(expected);
    expect(messages(t, { split: { validationFraction: 0 }, model: model() })).toEqual(expected);
  });

  test("ASHA's maximum resource fits model.epochs, and leaves room for a rung", () => {
    expect(messages(tuning({ strategy: 'asha', trials: 4, space: lr, asha: { maxResource: 12 } }), { split, model: model() })).toEqual([
      'tuning.asha.maxResource: tuning.asha.maxResource (12) is more than model.epochs (9): lower it, or raise model.epochs',
    ]);
    expect(messages(tuning({ strategy: 'asha', trials: 4, space: lr, asha: { gracePeriod: 3 } }), { split, model: model({ epochs: 3 }) })).toEqual([
      'tuning.asha.gracePeriod: tuning.asha.gracePeriod (3) must be below the maximum resource (3 epochs), or no trial is ever compared: lower it, or raise model.epochs',
    ]);
  });

  test('parameters must exist for the model type', () => {
    const t = tuning({ strategy: 'random', trials: 4, space: { hidden: { choice: [[8]] }, dropout: { uniform: [0, 0.5] }, embeddingDim: { choice: [8] } } });
    expect(messages(t, { split, model: model({ type: 'logistic', hidden: undefined }) })).toEqual([
      'tuning.space.hidden: a logistic model has no hidden layers to tune hidden on; use model.type "mlp" or drop hidden',
      'tuning.space.dropout: a logistic model has no hidden layers to tune dropout on; use model.type "mlp" or drop dropout',
      'tuning.space.embeddingDim: embeddingDim is for model.type "wideDeep"',
    ]);
    const layered = model({ hidden: undefined, layers: [{ units: 8, activation: 'tanh' }] });
    expect(
      messages(tuning({ strategy: 'random', trials: 4, space: { hidden: { choice: [[8]] }, activation: { choice: ['relu'] } } }), { split, model: layered }),
    ).toEqual([
      'tuning.space.hidden: the model gives model.layers; tuning hidden replaces model.hidden: give the model as model.hidden',
      "tuning.space.activation: tuning activation sets model.activation, which model.layers' own activations override; drop them or drop activation",
    ]);
  });

  test("tuning.metric must be the label task's metric or loss", () => {
    const t = tuning({ strategy: 'random', trials: 4, space: lr, metric: 'accuracy' });
    expect(messages(t, { split, model: model(), label: { column: 'delay', greaterThan: 15 } })).toEqual([
      'tuning.metric: a binary label reports the validation metric "auc", not "accuracy": set tuning.metric to "auc" or "loss"',
    ]);
    expect(messages(t, { split, model: model(), label: { column: 'c', task: 'multiclass', classes: ['a', 'b'] } })).toEqual([]);
    expect(
      messages(tuning({ strategy: 'random', trials: 4, space: lr, metric: 'loss' }), { split, model: model(), label: { column: 'y', task: 'regression' } }),
    ).toEqual([]);
  });

  test("a search whose reports would overflow the workflow's history", () => {
    const t = tuning({ strategy: 'random', trials: 200, space: lr });
    expect(messages(t, { split, model: model({ epochs: 20, parallelism: { workers: 2, roundsPerEpoch: 4 } }) })).toEqual([
      'tuning.trials: the search would get 16000 progress reports (trials × epochs × rounds per epoch), more than 5000 its history can hold: run fewer trials, epochs or model.parallelism.roundsPerEpoch',
    ]);
  });
});
