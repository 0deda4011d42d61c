import { rowIdColumn, type FeatureSpec, type LabelRule, type PipelineSpec } from '../spec/pipeline-spec';

/**
 * The fitted transform: everything learned from the train split that turns raw column values
 * into the model's input vector. It is stored as a JSON artifact and loaded by the model server,
 * so training and serving apply exactly the same function.
 *
 * Layout of the input vector: each feature owns `width` consecutive slots starting at `offset`.
 * numeric: 1 slot, (x - mean) / std. categorical: one-hot over the vocabulary + 1 out-of-vocabulary
 * slot. hourOfDay: one-hot over 24. dayOfWeek: one-hot over 7 (0 = Sunday, UTC).
 */
export type FittedFeature =
  | { kind: 'numeric'; name: string; column: string; offset: number; width: 1; mean: number; std: number }
  | { kind: 'categorical'; name: string; column: string; offset: number; width: number; vocabulary: string[] }
  | { kind: 'hourOfDay'; name: string; column: string; offset: number; width: 24 }
  | { kind: 'dayOfWeek'; name: string; column: string; offset: number; width: 7 };

export interface FittedTransform {
  format: 'pipewright.transform/v1';
  key: string;
  label: LabelRule;
  split: { testFraction: number; seed: number };
  features: FittedFeature[];
  inputDim: number;
  trainRows: number;
}

/** Running statistics over the train split, mergeable across shards. */
export class TransformStatistics {
  rows = 0;
  private readonly numeric = new Map<string, { n: number; mean: number; m2: number }>();
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(private readonly features: FeatureSpec[]) {
    for (const f of features) {
      if (f.kind === 'numeric') this.numeric.set(f.name, { n: 0, mean: 0, m2: 0 });
      if (f.kind === 'categorical') this.counts.set(f.name, new Map());
    }
  }

  addNumeric(feature: string, value: number): void {
    const s = this.numeric.get(feature)!;
    // Welford's update: numerically stable over millions of rows.
    s.n++;
    const delta = value - s.mean;
    s.mean += delta / s.n;
    s.m2 += delta * (value - s.mean);
  }

  addCategory(feature: string, value: string | null, count = 1): void {
    if (value === null) return;
    const m = this.counts.get(feature)!;
    m.set(value, (m.get(value) ?? 0) + count);
  }

  fit(spec: PipelineSpec): FittedTransform {
    let offset = 0;
    const fitted: FittedFeature[] = this.features.map((f): FittedFeature => {
      const start = offset;
      switch (f.kind) {
        case 'numeric': {
          const s = this.numeric.get(f.name)!;
          const variance = s.n > 1 ? s.m2 / (s.n - 1) : 0;
          offset += 1;
          // A constant column scales by 1 instead of dividing by zero.
          return { kind: 'numeric', name: f.name, column: f.column, offset: start, width: 1, mean: s.mean, std: variance > 0 ? Math.sqrt(variance) : 1 };
        }
        case 'categorical': {
          const vocabulary = [...this.counts.get(f.name)!.entries()]
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .slice(0, f.topK)
            .map(([value]) => value);
          offset += vocabulary.length + 1;
          return { kind: 'categorical', name: f.name, column: f.column, offset: start, width: vocabulary.length + 1, vocabulary };
        }
        case 'hourOfDay':
          offset += 24;
          return { kind: 'hourOfDay', name: f.name, column: f.column, offset: start, width: 24 };
        case 'dayOfWeek':
          offset += 7;
          return { kind: 'dayOfWeek', name: f.name, column: f.column, offset: start, width: 7 };
      }
    });
    return {
      format: 'pipewright.transform/v1',
      key: rowIdColumn(spec.source),
      label: { ...spec.label },
      split: { ...spec.split },
      features: fitted,
      inputDim: offset,
      trainRows: this.rows,
    };
  }
}

/**
 * Encodes one feature value to a compact code: the standardised value for numeric features, the
 * slot index within the feature for one-hot features. Encoded shards store these codes; the
 * dense vector is expanded per batch (denseInto) so shards stay small.
 */
export class FeatureEncoder {
  private readonly lookups: Array<Map<string, number> | null>;

  constructor(readonly transform: FittedTransform) {
    this.lookups = transform.features.map((f) => (f.kind === 'categorical' ? new Map(f.vocabulary.map((v, i) => [v, i])) : null));
  }

  encodeNumber(featureIndex: number, value: number): number {
    const f = this.transform.features[featureIndex]!;
    switch (f.kind) {
      case 'numeric':
        return (value - f.mean) / f.std;
      // Plain arithmetic on epoch milliseconds (UTC), as Date's getUTCHours/getUTCDay would give, without a Date per row.
      case 'hourOfDay':
        return Math.floor(modulo(value, MS_PER_DAY) / MS_PER_HOUR);
      case 'dayOfWeek':
        return modulo(Math.floor(value / MS_PER_DAY) + 4, 7); // 1970-01-01 was a Thursday (4)
      case 'categorical':
        throw new Error(`feature "${f.name}" is categorical; encode it with encodeCategory`);
    }
  }

  encodeCategory(featureIndex: number, value: string | null): number {
    const f = this.transform.features[featureIndex]!;
    if (f.kind !== 'categorical') throw new Error(`feature "${f.name}" is not categorical`);
    const index = value === null ? undefined : this.lookups[featureIndex]!.get(value);
    return index ?? f.vocabulary.length; // the out-of-vocabulary slot
  }

  /** Writes the dense input vector for one row of codes into `out` at `rowOffset` (which must be zeroed). */
  denseInto(codes: ArrayLike<number>, out: Float32Array, rowOffset: number): void {
    const features = this.transform.features;
    for (let i = 0; i < features.length; i++) {
      const f = features[i]!;
      if (f.kind === 'numeric') out[rowOffset + f.offset] = codes[i]!;
      else out[rowOffset + f.offset + codes[i]!] = 1;
    }
  }
}

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

function modulo(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** The 0/1 label of a raw label value under the transform's label rule. */
export function labelOf(label: LabelRule, value: number | string): number {
  if ('greaterThan' in label) return typeof value === 'number' && value > label.greaterThan ? 1 : 0;
  return label.oneOf.includes(value) ? 1 : 0;
}

/** What the model's output is the probability of, in words. */
export function describeLabel(label: LabelRule): string {
  if ('greaterThan' in label) return `${label.column} > ${label.greaterThan}`;
  return `${label.column} in ${JSON.stringify(label.oneOf)}`;
}
