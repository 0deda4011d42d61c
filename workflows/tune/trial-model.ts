import type { DenseLayerSpec } from '../../lib/spec/model-spec';
import type { ParamValue, SearchMetric, TrainModelInput, TrainModelResult, TrialParams } from '../../contracts';

type ModelSpec = TrainModelInput['model'];

/** mlp's hidden layers when the spec names none (lib/spec/model-spec.ts hiddenLayersOf; workflow code may not import it). */
const DEFAULT_HIDDEN = [32];

/**
 * The model section a trial trains: the base with the trial's parameters merged in, and `epochs`
 * epochs (ASHA's maximum resource, or the base's). `dropout` is no model field of its own: it is
 * set on every hidden layer, which turns `hidden` widths into `layers`. The spec check
 * (checkTuning) has already refused parameters that do not fit the model type.
 */
export function trialModel(base: ModelSpec, params: TrialParams, epochs: number): ModelSpec {
  const { dropout, ...fields } = params;
  const model = { ...base, ...fields, epochs: typeof fields.epochs === 'number' ? fields.epochs : epochs } as ModelSpec;
  if (typeof dropout !== 'number') return model;
  const layers: DenseLayerSpec[] = model.layers ?? (model.hidden ?? DEFAULT_HIDDEN).map((units) => ({ units }));
  const { hidden: _hidden, ...rest } = model;
  return { ...rest, layers: layers.map((l) => ({ ...l, dropout })) };
}

/** A parameter's value as the Web UI shows it: 4 significant digits, lists in brackets. */
export function formatParam(value: ParamValue): string {
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : value;
}

export function formatParams(params: TrialParams): string {
  return Object.entries(params)
    .map(([name, v]) => `${name}=${formatParam(v)}`)
    .join(', ');
}

/** Whether a larger value of the named metric is better: losses and errors are lower-is-better. */
export function higherIsBetter(name: string): boolean {
  return !/^(loss|logLoss|rmse|mae)\b/.test(name);
}

/** Whether metric `a` beats `b` in the metric's direction. */
export function beats(a: number, b: number, metric: SearchMetric): boolean {
  return metric.higherIsBetter ? a > b : a < b;
}

/**
 * The epoch (0-based) whose weights a finished training returned: its last, unless early stopping
 * ended it and restored the best validation epoch (the rule of training-schedule.ts's
 * earlyStoppingStep: an epoch is the new best when it beats the best by more than minDelta).
 */
export function returnedEpoch(model: ModelSpec, result: TrainModelResult): number {
  const last = result.model.epochs - 1;
  const rule = model.earlyStopping;
  const losses = result.validationLosses;
  if (result.stoppedAfterEpochs === undefined || !rule?.restoreBest || !losses?.length) return last;
  let best = 0;
  for (let e = 1; e < losses.length; e++) if (losses[e]! < losses[best]! - rule.minDelta) best = e;
  return best;
}
