import { z } from 'zod';
import { parsePipelineSpec, SpecError, type PipelineSpec } from '../spec/pipeline-spec';
import { DEFAULT_DRIFT_THRESHOLDS, DEFAULT_MIN_ROWS } from './drift-check';
import { DEFAULT_MAX_DROP, DEFAULT_MIN_LABELS } from './live-metric';

/**
 * A monitor: which model, over which window, with which thresholds, and the pipeline that retrains
 * it when the serving data drifts or its live metric drops. Strict, so a misspelt threshold is
 * reported rather than silently left at its default.
 */
const fraction = z.number().min(0).max(1);

export const monitorThresholdsSchema = z.strictObject({
  /** L-infinity distance between category frequencies (text columns). */
  categorical: fraction.default(DEFAULT_DRIFT_THRESHOLDS.categorical),
  /** Jensen–Shannon divergence, base 2 (number and timestamp columns). */
  numeric: fraction.default(DEFAULT_DRIFT_THRESHOLDS.numeric),
  numericBins: z.number().int().min(2).max(1000).default(DEFAULT_DRIFT_THRESHOLDS.numericBins),
});

export const monitorSettingsSchema = z.strictObject({
  model: z.string().min(1, 'the model name must not be empty'),
  /** Minutes of logged predictions, up to the check, that one check reads. */
  windowMinutes: z
    .number()
    .int()
    .positive()
    .max(60 * 24 * 90)
    .default(60),
  /** Fewer logged rows in the window: "not enough traffic", nothing measured. */
  minRows: z.number().int().positive().default(DEFAULT_MIN_ROWS),
  thresholds: monitorThresholdsSchema.prefault({}),
  /** Fewer labelled rows: the live metric is not computed. */
  minLabels: z.number().int().positive().default(DEFAULT_MIN_LABELS),
  /** Largest allowed drop of the headline metric below the version's registered value (its own units). */
  maxDrop: z.number().min(0).default(DEFAULT_MAX_DROP),
});

export type MonitorSettings = z.infer<typeof monitorSettingsSchema>;
export type MonitorSettingsInput = z.input<typeof monitorSettingsSchema>;

export interface MonitorSpec extends MonitorSettings {
  /** The pipeline that retrains the model: it must train this very model. */
  retrain: PipelineSpec;
}

export class MonitorSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid monitor spec:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'MonitorSpecError';
  }
}

function where(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Validates a monitor; the retraining spec as `pipewright run` would. Throws MonitorSpecError listing every problem. */
export function parseMonitorSpec(value: unknown): MonitorSpec {
  const problems: string[] = [];
  const { retrain, ...settings } = (value !== null && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  if (value === null || typeof value !== 'object') problems.push(`(top level): expected an object, got ${value === null ? 'null' : typeof value}`);
  const parsed = monitorSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(
        issue.code === 'unrecognized_keys'
          ? `${where(issue.path)}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove it or check its spelling`
          : `${where(issue.path)}: ${issue.message}`,
      );
    }
  }
  let spec: PipelineSpec | undefined;
  if (retrain === undefined) problems.push('retrain: the retraining pipeline spec is required');
  else {
    try {
      spec = parsePipelineSpec(retrain, '(retrain)');
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      problems.push(...err.problems.map((p) => `retrain.${p}`));
    }
  }
  if (parsed.success && spec) {
    const trains = spec.model.name ?? spec.name;
    if (trains !== parsed.data.model) {
      problems.push(`retrain: the spec trains model "${trains}", not "${parsed.data.model}"; set its model.name (or name) to "${parsed.data.model}"`);
    }
  }
  if (problems.length > 0 || !parsed.success || !spec) throw new MonitorSpecError(problems);
  return { ...parsed.data, retrain: spec };
}
