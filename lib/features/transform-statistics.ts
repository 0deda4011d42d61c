import { PipelineInputError } from '../errors';
import { rowIdColumn, type FeatureSpec, type PipelineSpec } from '../spec/pipeline-spec';
import { plainSplit, type SplitRule } from './split';
import { PART_SIZE } from './calendar';
import { staticLabel } from './label-fit';
import {
  TRANSFORM_V2,
  type FittedFeature,
  type FittedLabel,
  type FittedImpute,
  type FittedNumeric,
  type FittedScale,
  type FittedTransformV2,
} from './transform-format';
import { EXACT_DISTINCT_LIMIT, ValueDistribution, fromJsonNumber, toJsonNumber, type JsonNumber, type ValueDistributionState } from './value-distribution';

type NumericSpec = Extract<FeatureSpec, { kind: 'numeric' }>;

/** Where a feature is in the spec, for messages: features[2] ("distance"). */
function where(index: number, feature: FeatureSpec): string {
  return `features[${index}] ("${feature.name}")`;
}

/**
 * One numeric feature's statistics over the train split. Raw values feed the imputation statistic;
 * values after clip and log1p feed the scaling statistics, so that the scale describes what the
 * model is given. NULLs are counted, and once the imputed value is known they join the scaling
 * statistics as that many copies of it: the result is the scaler fitted on the imputed column (as
 * an imputer followed by a scaler would give), still in one pass.
 */
class NumericFit {
  nulls = 0;
  // Welford's running moments of the scaled-for values; numerically stable over millions of rows.
  n = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  /** Running mean of the raw values, for impute: 'mean'. */
  private rawN = 0;
  private rawMean = 0;
  private readonly distribution: ValueDistribution | null;
  private readonly clipMin: number;
  private readonly clipMax: number;
  private readonly log1p: boolean;
  /** Values at or below -1 after clipping, which log1p cannot take, and the smallest of them. */
  private outOfDomain = 0;
  private smallest = Infinity;

  constructor(
    private readonly spec: NumericSpec,
    private readonly index: number,
  ) {
    const impute = spec.impute;
    this.distribution = impute === 'median' || impute === 'mostFrequent' ? new ValueDistribution(impute === 'median') : null;
    this.clipMin = spec.clip?.min ?? -Infinity;
    this.clipMax = spec.clip?.max ?? Infinity;
    this.log1p = spec.log1p === true;
  }

  /** Raw value to the value the scale is fitted on (and applied to): clip, then log1p. */
  private prepare(raw: number): number {
    let v = raw;
    if (v < this.clipMin) v = this.clipMin;
    else if (v > this.clipMax) v = this.clipMax;
    if (this.log1p) {
      if (!(v > -1)) {
        this.outOfDomain++;
        if (v < this.smallest) this.smallest = v;
        return NaN;
      }
      v = Math.log1p(v);
    }
    return v;
  }

  add(raw: number): void {
    if (this.spec.impute === 'mean') {
      this.rawN++;
      this.rawMean += (raw - this.rawMean) / this.rawN;
    }
    this.distribution?.add(raw);
    const v = this.prepare(raw);
    this.n++;
    const delta = v - this.mean;
    this.mean += delta / this.n;
    this.m2 += delta * (v - this.mean);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** The plain path (no impute, clip or log1p), kept to the arithmetic of v1 so that its fit is bit-identical. */
  addPlain(values: Float64Array, isTest: Uint8Array, rows: number): void {
    let { n, mean, m2, min, max } = this;
    for (let r = 0; r < rows; r++) {
      if (isTest[r]) continue;
      const v = values[r]!;
      n++;
      const delta = v - mean;
      mean += delta / n;
      m2 += delta * (v - mean);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    Object.assign(this, { n, mean, m2, min, max });
  }

  state(): NumericFitState {
    return {
      nulls: this.nulls,
      n: this.n,
      mean: toJsonNumber(this.mean),
      m2: toJsonNumber(this.m2),
      min: toJsonNumber(this.min),
      max: toJsonNumber(this.max),
      rawN: this.rawN,
      rawMean: toJsonNumber(this.rawMean),
      outOfDomain: this.outOfDomain,
      smallest: toJsonNumber(this.smallest),
      distribution: this.distribution?.state() ?? null,
    };
  }

  /** Adds the statistics of another partition of the train rows (Chan et al.'s merge of the moments). */
  merge(state: NumericFitState): void {
    if ((state.distribution === null) !== (this.distribution === null)) {
      throw new Error(
        `${where(this.index, this.spec)}: its statistics were collected ${state.distribution === null ? 'without' : 'with'} a value distribution, ` +
          `which impute ${JSON.stringify(this.spec.impute ?? null)} ${this.distribution === null ? 'does not take' : 'needs'}: collect them with the same spec`,
      );
    }
    this.nulls += state.nulls;
    [this.n, this.mean, this.m2] = mergeMoments(this.n, this.mean, this.m2, state.n, fromJsonNumber(state.mean), fromJsonNumber(state.m2));
    // Compared as `add` does, so a NaN never becomes an extreme.
    const min = fromJsonNumber(state.min);
    const max = fromJsonNumber(state.max);
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    [this.rawN, this.rawMean] = mergeMoments(this.rawN, this.rawMean, 0, state.rawN, fromJsonNumber(state.rawMean), 0);
    this.outOfDomain += state.outOfDomain;
    const smallest = fromJsonNumber(state.smallest);
    if (smallest < this.smallest) this.smallest = smallest;
    if (state.distribution !== null) this.distribution!.merge(state.distribution);
  }

  get plain(): boolean {
    return this.spec.impute === undefined && this.spec.clip === undefined && this.spec.log1p !== true;
  }

  private imputed(): FittedImpute | undefined {
    const impute = this.spec.impute;
    if (impute === undefined) return undefined;
    if (typeof impute === 'object') return { strategy: 'constant', value: impute.constant };
    const column = `column "${this.spec.column}"`;
    const none = (): PipelineInputError =>
      new PipelineInputError(
        `${where(this.index, this.spec)}: ${column} has no values in the train split to take the ${impute} of; ` +
          'impute a constant instead ("impute": {"constant": 0}) or fix the source',
      );
    switch (impute) {
      case 'mean':
        if (this.rawN === 0) throw none();
        return { strategy: 'mean', value: this.rawMean };
      case 'median': {
        const [median] = this.distribution!.quantiles([0.5]);
        if (median === undefined || Number.isNaN(median)) throw none();
        return { strategy: 'median', value: median };
      }
      case 'mostFrequent': {
        const d = this.distribution!;
        if (d.count === 0) throw none();
        const value = d.mostFrequent();
        if (value === null) {
          throw new PipelineInputError(
            `${where(this.index, this.spec)}: impute "mostFrequent" counts each distinct value of ${column}, which has more than ` +
              `${EXACT_DISTINCT_LIMIT} in the train split (a continuous column); use "median" or "mean" instead`,
          );
        }
        return { strategy: 'mostFrequent', value };
      }
    }
  }

  fit(offset: number): FittedNumeric {
    if (this.outOfDomain > 0) {
      throw new PipelineInputError(
        `${where(this.index, this.spec)}: log1p needs values greater than -1, but ${this.outOfDomain} train rows of column "${this.spec.column}" ` +
          `are not (the smallest is ${this.smallest}); add "clip": {"min": 0} (or another bound above -1), or drop log1p`,
      );
    }
    const impute = this.imputed();
    let { n, mean, m2, min, max } = this;
    if (impute !== undefined && this.nulls > 0) {
      const v = this.prepare(impute.value);
      if (Number.isNaN(v)) {
        throw new PipelineInputError(
          `${where(this.index, this.spec)}: the imputed ${impute.strategy} ${impute.value} is not greater than -1, which log1p needs; clip it ("clip": {"min": 0}) or drop log1p`,
        );
      }
      // Chan et al.'s merge of (n, mean, m2) with `nulls` copies of v (whose own m2 is 0).
      const total = n + this.nulls;
      const delta = v - mean;
      mean += (delta * this.nulls) / total;
      m2 += (delta * delta * n * this.nulls) / total;
      n = total;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    let scale: FittedScale;
    switch (this.spec.scale ?? 'standard') {
      case 'standard': {
        const variance = n > 1 ? m2 / (n - 1) : 0;
        // A constant column scales by 1 instead of dividing by zero.
        scale = { kind: 'standard', mean, std: variance > 0 ? Math.sqrt(variance) : 1 };
        break;
      }
      case 'minMax':
        scale = n > 0 ? { kind: 'minMax', min, max } : { kind: 'minMax', min: 0, max: 0 };
        break;
      case 'none':
        scale = { kind: 'none' };
        break;
    }
    const { name, column, clip, log1p } = this.spec;
    return {
      kind: 'numeric',
      name,
      column,
      offset,
      width: 1,
      ...(impute !== undefined ? { impute } : {}),
      ...(clip !== undefined ? { clip: { ...clip } } : {}),
      ...(log1p === true ? { log1p: true as const } : {}),
      scale,
    };
  }
}

/**
 * Chan et al.'s parallel merge of two (n, mean, m2) summaries. An empty side leaves the other as it
 * is, so that merging one partition's state gives back its very numbers.
 */
function mergeMoments(n: number, mean: number, m2: number, nB: number, meanB: number, m2B: number): [number, number, number] {
  if (nB === 0) return [n, mean, m2];
  if (n === 0) return [nB, meanB, m2B];
  const total = n + nB;
  const delta = meanB - mean;
  return [total, mean + (delta * nB) / total, m2 + m2B + (delta * delta * n * nB) / total];
}

/** A numeric feature's statistics as plain JSON (JsonNumber: non-finite values as strings). */
export interface NumericFitState {
  nulls: number;
  n: number;
  mean: JsonNumber;
  m2: JsonNumber;
  min: JsonNumber;
  max: JsonNumber;
  rawN: number;
  rawMean: JsonNumber;
  outOfDomain: number;
  smallest: JsonNumber;
  /** The raw values, for impute "median" and "mostFrequent"; null otherwise. */
  distribution: ValueDistributionState | null;
}

/**
 * TransformStatistics as plain JSON: what one site's pass over its own train rows learnt, to be
 * merged with the other sites' (TransformStatistics.merged). Keyed by feature name.
 */
export interface TransformStatisticsState {
  rows: number;
  numeric: Record<string, NumericFitState>;
  buckets: Record<string, ValueDistributionState>;
  /** Each categorical feature's distinct values (in code-unit order) and their train-split counts. */
  categories: Record<string, { values: string[]; counts: number[] }>;
}

/** An own entry of a state's record: a feature may be called "__proto__" or "constructor". */
function entryOf<T>(record: Record<string, T>, key: string, what: string): T {
  if (!Object.hasOwn(record, key)) throw new Error(`the statistics state has no ${what} statistics of feature "${key}": collect them with the same spec`);
  return record[key]!;
}

/** The train split's values of a quantileBuckets feature. */
class BucketFit {
  readonly distribution = new ValueDistribution(true);

  constructor(readonly buckets: number) {}

  boundaries(): number[] {
    const qs = Array.from({ length: this.buckets - 1 }, (_, k) => (k + 1) / this.buckets);
    const cuts = this.distribution.quantiles(qs).filter((b) => !Number.isNaN(b));
    // Tied quantiles (a value that fills several buckets' worth of rows) merge into one boundary.
    return cuts.filter((b, i) => i === 0 || b !== cuts[i - 1]);
  }
}

/**
 * Running statistics over the train split, fed row by row or column by column, then fitted into the
 * transform. Only kinds that learn something have state: numeric (moments, extremes, imputation),
 * categorical (counts), quantileBuckets (value distribution). hashed, cross and the calendar kinds
 * are fixed functions of their value.
 */
export class TransformStatistics {
  rows = 0;
  private readonly numeric = new Map<string, NumericFit>();
  private readonly buckets = new Map<string, BucketFit>();
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(private readonly features: FeatureSpec[]) {
    features.forEach((f, i) => {
      if (f.kind === 'numeric') this.numeric.set(f.name, new NumericFit(f, i));
      if (f.kind === 'quantileBuckets') this.buckets.set(f.name, new BucketFit(f.buckets));
      if (f.kind === 'categorical') this.counts.set(f.name, new Map());
    });
  }

  /** One train value of a numeric or quantileBuckets feature; null is a NULL (imputed features only). */
  addNumeric(feature: string, value: number | null): void {
    const numeric = this.numeric.get(feature);
    if (numeric !== undefined) {
      if (value === null) numeric.nulls++;
      else numeric.add(value);
      return;
    }
    if (value !== null) this.buckets.get(feature)!.distribution.add(value);
  }

  /**
   * A column of values, train rows only (isTest[r] = 1 skips row r). `validity` is Arrow's null
   * bitmap (null when the column has no nulls), its bit for row r at bitOffset + r.
   */
  addNumbers(feature: string, values: Float64Array, validity: Uint8Array | null, bitOffset: number, isTest: Uint8Array, rows: number): void {
    const numeric = this.numeric.get(feature);
    if (numeric !== undefined && validity === null && numeric.plain) {
      numeric.addPlain(values, isTest, rows);
      return;
    }
    const distribution = numeric === undefined ? this.buckets.get(feature)!.distribution : null;
    for (let r = 0; r < rows; r++) {
      if (isTest[r]) continue;
      const bit = bitOffset + r;
      if (validity !== null && (validity[bit >> 3]! & (1 << (bit & 7))) === 0) {
        if (numeric !== undefined) numeric.nulls++;
      } else if (numeric !== undefined) numeric.add(values[r]!);
      else distribution!.add(values[r]!);
    }
  }

  addCategory(feature: string, value: string | null, count = 1): void {
    if (value === null) return;
    const m = this.counts.get(feature)!;
    m.set(value, (m.get(value) ?? 0) + count);
  }

  /** What the statistics hold, as plain JSON that JSON.stringify and JSON.parse keep as it is. */
  state(): TransformStatisticsState {
    const codeUnits = (a: [string, number], b: [string, number]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    return {
      rows: this.rows,
      numeric: Object.fromEntries([...this.numeric].map(([name, fit]) => [name, fit.state()])),
      buckets: Object.fromEntries([...this.buckets].map(([name, fit]) => [name, fit.distribution.state()])),
      categories: Object.fromEntries(
        [...this.counts].map(([name, counts]) => {
          const sorted = [...counts.entries()].sort(codeUnits);
          return [name, { values: sorted.map(([value]) => value), counts: sorted.map(([, count]) => count) }];
        }),
      ),
    };
  }

  /** Adds the statistics of another partition of the train rows, collected with the same features. */
  merge(state: TransformStatisticsState): void {
    this.rows += state.rows;
    for (const [name, fit] of this.numeric) fit.merge(entryOf(state.numeric, name, 'numeric'));
    for (const [name, fit] of this.buckets) fit.distribution.merge(entryOf(state.buckets, name, 'quantileBuckets'));
    for (const name of this.counts.keys()) {
      const { values, counts } = entryOf(state.categories, name, 'categorical');
      if (values.length !== counts.length)
        throw new Error(`the categorical statistics of feature "${name}" have ${values.length} values but ${counts.length} counts`);
      values.forEach((value, i) => this.addCategory(name, value, counts[i]!));
    }
  }

  /**
   * The statistics of the rows of every state, merged in the order given: counts, extremes and
   * exact distributions are the same in any order; the moments agree up to rounding.
   */
  static merged(features: FeatureSpec[], states: readonly TransformStatisticsState[]): TransformStatistics {
    const merged = new TransformStatistics(features);
    for (const state of states) merged.merge(state);
    return merged;
  }

  /**
   * The fitted transform. A user's mistake that only the data reveals (log1p over values ≤ -1, a
   * statistic of a column with no values) is a PipelineInputError naming the feature and the fix.
   */
  fit(spec: PipelineSpec, split: SplitRule = plainSplit(spec), label: FittedLabel | null = staticLabel(spec.label)): FittedTransformV2 {
    // "classes": "auto" and regression learn from the label column too: fitTransform passes what LabelFit found.
    if (label === null) throw new Error(`label "${spec.label.column}" is fitted on the data: pass the fitted label (see LabelFit)`);
    let offset = 0;
    const fitted: FittedFeature[] = this.features.map((f): FittedFeature => {
      const start = offset;
      const take = <T extends FittedFeature>(feature: T): T => {
        offset += feature.width;
        return feature;
      };
      switch (f.kind) {
        case 'numeric':
          return take(this.numeric.get(f.name)!.fit(start));
        case 'categorical': {
          const minCount = f.minCount ?? 1;
          const vocabulary = [...this.counts.get(f.name)!.entries()]
            .filter(([, count]) => count >= minCount)
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .slice(0, f.topK)
            .map(([value]) => value);
          return take({ kind: 'categorical', name: f.name, column: f.column, offset: start, width: vocabulary.length + 1, vocabulary });
        }
        case 'hourOfDay':
          return take({ kind: 'hourOfDay', name: f.name, column: f.column, offset: start, width: 24 });
        case 'dayOfWeek':
          return take({ kind: 'dayOfWeek', name: f.name, column: f.column, offset: start, width: 7 });
        case 'quantileBuckets': {
          const boundaries = this.buckets.get(f.name)!.boundaries();
          return take({ kind: 'quantileBuckets', name: f.name, column: f.column, offset: start, width: boundaries.length + 1, boundaries });
        }
        case 'hashed':
          return take({ kind: 'hashed', name: f.name, column: f.column, offset: start, width: f.buckets + 1, buckets: f.buckets });
        case 'cross':
          return take({ kind: 'cross', name: f.name, columns: [...f.columns], offset: start, width: f.buckets + 1, buckets: f.buckets });
        case 'timestamp': {
          const width = f.parts.reduce((w, part) => w + (f.cyclical ? 2 : PART_SIZE[part]), 0);
          return take({ kind: 'timestamp', name: f.name, column: f.column, offset: start, width, parts: [...f.parts], cyclical: f.cyclical });
        }
      }
    });
    return {
      format: TRANSFORM_V2,
      key: rowIdColumn(spec.source),
      label: { ...label },
      split,
      features: fitted,
      inputDim: offset,
      trainRows: this.rows,
    };
  }
}
