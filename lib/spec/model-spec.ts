import { z } from 'zod';

/**
 * The `model` section of a pipeline spec: the network, how it is optimised, and how training is
 * spread over the gpu pool. Every object is strict, so a misspelt layer field or an unknown
 * activation is reported with the allowed values instead of being ignored.
 */

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier (letters, digits, underscore)');

export const ACTIVATIONS = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'softplus', 'linear'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const activation = z.enum(ACTIVATIONS, { error: `must be one of ${ACTIVATIONS.join(', ')}` });

/** One hidden layer: a dense layer, its activation, and dropout after it. */
const denseLayer = z
  .object({
    units: z.number().int().min(1).max(4096),
    activation: activation.optional(),
    /** Fraction of this layer's outputs dropped while training (seeded per step). */
    dropout: z.number().min(0).max(0.95).optional(),
  })
  .strict();
export type DenseLayerSpec = z.infer<typeof denseLayer>;

const learningRateSchedule = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('constant') }).strict(),
    /** lr · rate^(step / everySteps): smooth decay. */
    z.object({ kind: z.literal('exponential'), rate: z.number().gt(0).max(1), everySteps: z.number().int().min(1) }).strict(),
    /** lr · ½(1 + cos(π · step / total steps)), down to minFraction · lr. */
    z.object({ kind: z.literal('cosine'), minFraction: z.number().min(0).max(1).default(0) }).strict(),
    /** lr · factor after each of the listed epochs (1-based, as "after epoch 2"). */
    z.object({ kind: z.literal('stepDecay'), afterEpochs: z.array(z.number().int().min(1)).min(1), factor: z.number().gt(0).max(1) }).strict(),
  ],
  { error: 'learningRateSchedule.kind must be constant, exponential, cosine or stepDecay' },
);
export type LearningRateSchedule = z.infer<typeof learningRateSchedule>;

const earlyStopping = z
  .object({
    /** Epochs without an improvement of the validation loss by at least minDelta before training stops. */
    patience: z.number().int().min(1).default(2),
    minDelta: z.number().min(0).default(0),
    /** Keep the weights of the best validation epoch (as Keras' restore_best_weights). */
    restoreBest: z.boolean().default(true),
  })
  .strict();
export type EarlyStopping = z.infer<typeof earlyStopping>;

const parallelism = z
  .object({
    /** Training activities per synchronisation round, each on its own group of shards; 1 streams every shard in one. */
    workers: z.number().int().min(1).max(64).default(2),
    /** Weight-averaging rounds per epoch: each worker trains on 1/roundsPerEpoch of its share per round. */
    roundsPerEpoch: z.number().int().min(1).max(64).default(1),
    /**
     * How the train rows are shared out. rows: every worker reads every shard and trains on every
     * workers-th row of it, so each sees the whole table's distribution (shards cut by key are
     * often cut by time, and averaging models of different months loses what each learnt).
     * shards: each worker reads only its group of shards (less I/O where storage is remote).
     */
    share: z.enum(['rows', 'shards']).default('rows'),
  })
  .strict();

export const MODEL_TYPES = ['logistic', 'linear', 'mlp', 'wideDeep'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export const modelSpecSchema = z
  .object({
    name: identifier.optional(),
    /**
     * logistic / linear: one output layer over the inputs (the task picks the link: sigmoid,
     * softmax, identity). mlp: hidden layers, then the output. wideDeep: a linear part over every
     * input plus an MLP over embeddings of the categorical features and the numeric values.
     */
    type: z.enum(MODEL_TYPES, { error: `must be one of ${MODEL_TYPES.join(', ')}` }).default('mlp'),
    /** Shorthand for `layers`: hidden layer widths, each with `activation`. */
    hidden: z.array(z.number().int().min(1).max(4096)).optional(),
    layers: z.array(denseLayer).optional(),
    /** Activation of hidden layers that do not name their own. */
    activation: activation.default('relu'),
    /** L2 penalty on every kernel (not biases or embeddings). */
    l2: z.number().min(0).default(0),
    /** wideDeep: embedding width per categorical feature; absent: min(16, ceil(1.6 · slots^0.56)). */
    embeddingDim: z.number().int().min(1).max(512).optional(),
    epochs: z.number().int().min(1).max(1000).default(2),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .default(4096),
    learningRate: z.number().positive().default(0.01),
    learningRateSchedule: learningRateSchedule.optional(),
    /** Stop when the validation loss stops improving; needs split.validationFraction. */
    earlyStopping: earlyStopping.optional(),
    parallelism: parallelism.default({ workers: 2, roundsPerEpoch: 1, share: 'rows' }),
    /** Mid-epoch checkpoint every this many batches: a retried activity resumes there. */
    checkpointEveryBatches: z.number().int().min(1).default(200),
    seed: z.number().int().default(7),
  })
  .strict()
  .superRefine((model, ctx) => {
    if (model.hidden && model.layers) ctx.addIssue({ code: 'custom', path: ['layers'], message: 'give model.hidden (widths) or model.layers, not both' });
    const hidden = model.layers ?? model.hidden ?? [];
    if ((model.type === 'logistic' || model.type === 'linear') && hidden.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [model.layers ? 'layers' : 'hidden'],
        message: `a ${model.type} model has no hidden layers; use type "mlp" or drop them`,
      });
    }
    if (model.type !== 'wideDeep' && model.embeddingDim !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['embeddingDim'], message: 'embeddingDim is for type "wideDeep"' });
    }
  });

export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** The hidden layers a spec asks for, resolved: `layers` as given, `hidden` widths with the default activation, mlp's default [32]. */
export function hiddenLayersOf(model: ModelSpec): Array<Required<DenseLayerSpec>> {
  if (model.type === 'logistic' || model.type === 'linear') return [];
  const layers: DenseLayerSpec[] = model.layers ?? (model.hidden ?? [32]).map((units) => ({ units }));
  return layers.map((l) => ({ units: l.units, activation: l.activation ?? model.activation, dropout: l.dropout ?? 0 }));
}
