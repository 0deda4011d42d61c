import { Type, type Data, type Float64, type Utf8 } from 'apache-arrow';
import { PipelineInputError } from '../errors';
import { MAX_LABEL_CLASSES, type LabelRule } from '../spec/pipeline-spec';
import type { FittedLabel, FittedMulticlassLabel, FittedRegressionLabel } from './transform-format';
import { Utf8Interner } from './utf8-interner';
import { fromJsonNumber, toJsonNumber, type JsonNumber } from './value-distribution';

/** Distinct label values counted before "auto" gives up counting (the error then says "more than"). */
const DISTINCT_COUNT_LIMIT = 100_000;

/**
 * The fitted label of a rule that needs no data: a binary rule as it is, listed classes in the
 * spec's order. null for "classes": "auto" and regression, whose fit reads the train split (LabelFit).
 */
export function staticLabel(rule: LabelRule): FittedLabel | null {
  if (!('task' in rule)) return rule;
  if (rule.task === 'multiclass' && rule.classes !== 'auto') return { column: rule.column, task: 'multiclass', classes: [...rule.classes] };
  return null;
}

/** Ascending numbers, or strings in code-unit order: the same on every machine and locale. */
function compareClasses(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A LabelFit as plain JSON, to be merged with the fits of other partitions of the rows: the distinct
 * values in the order they were found (a text column's in `text`, a numeric one's in `numbers`),
 * whether counting gave up, and a regression label's moments.
 */
export interface LabelFitState {
  text: string[];
  numbers: JsonNumber[];
  overflow: boolean;
  n: number;
  mean: JsonNumber;
  m2: JsonNumber;
}

/**
 * What a label learns from the data: the distinct values of a "classes": "auto" label, or the mean
 * and standard deviation of a regression label, over the rows it is given (the train split; every
 * row when a stratified split needs the classes before the split exists). Memory: the distinct
 * values (counting stops past DISTINCT_COUNT_LIMIT), or three numbers.
 */
export class LabelFit {
  private readonly interner = new Utf8Interner();
  private ids = new Int32Array(0);
  /** Discovery index of each distinct value counted so far, and the values in that order. */
  private readonly indexOfId: number[] = [];
  private readonly indexOfNumber = new Map<number, number>();
  /** Discovery index of each text value, so that values merged from another fit are known to `add` too. */
  private readonly indexOfText = new Map<string, number>();
  private readonly found: Array<string | number> = [];
  private overflow = false;
  // Welford's running moments of a regression label.
  private n = 0;
  private mean = 0;
  private m2 = 0;

  constructor(private readonly rule: LabelRule) {
    if (staticLabel(rule) !== null) throw new Error(`label "${rule.column}" learns nothing from the data; use staticLabel`);
  }

  private get regression(): boolean {
    return 'task' in this.rule && this.rule.task === 'regression';
  }

  /** The discovery index of a distinct value (-1: past the counting limit), counting it if new. */
  private index(value: string | number, known: number | undefined): number {
    if (known !== undefined) return known;
    if (this.found.length >= DISTINCT_COUNT_LIMIT) {
      this.overflow = true;
      return -1;
    }
    this.found.push(value);
    return this.found.length - 1;
  }

  /**
   * Adds rows [0, rows) of the label column, skipping row r where skip[r] is 1 (null: every row).
   * `indices`, when given, receives each row's discovery index (what a stratified split counts by).
   */
  add(column: Data, rows: number, skip: Uint8Array | null, indices?: Int32Array): void {
    if (this.regression) {
      const values = (column as Data<Float64>).values;
      let { n, mean, m2 } = this;
      for (let r = 0; r < rows; r++) {
        if (skip !== null && skip[r]) continue;
        const v = values[r]!;
        n++;
        const delta = v - mean;
        mean += delta / n;
        m2 += delta * (v - mean);
      }
      Object.assign(this, { n, mean, m2 });
      return;
    }
    // Past the counting limit the fit fails whatever else comes: stop interning values.
    if (this.overflow) return;
    if (column.typeId === Type.Utf8) {
      if (this.ids.length < rows) this.ids = new Int32Array(rows);
      this.interner.intern(column as Data<Utf8>, this.ids);
      for (let r = 0; r < rows; r++) {
        const id = this.ids[r]!;
        // Ingest quarantines NULL labels; a -1 here would be a shard from elsewhere.
        if ((skip !== null && skip[r]) || id < 0) continue;
        let index = this.indexOfId[id];
        if (index === undefined) {
          const value = this.interner.values[id]!;
          index = this.index(value, this.indexOfText.get(value));
          if (index >= 0) {
            this.indexOfId[id] = index;
            this.indexOfText.set(value, index);
          }
        }
        if (indices) indices[r] = index;
      }
      return;
    }
    const values = (column as Data<Float64>).values;
    for (let r = 0; r < rows; r++) {
      if (skip !== null && skip[r]) continue;
      const v = values[r]!;
      const known = this.indexOfNumber.get(v);
      const index = this.index(v, known);
      if (known === undefined && index >= 0) this.indexOfNumber.set(v, index);
      if (indices) indices[r] = index;
    }
  }

  state(): LabelFitState {
    return {
      text: this.found.filter((v): v is string => typeof v === 'string'),
      numbers: this.found.filter((v): v is number => typeof v === 'number').map(toJsonNumber),
      overflow: this.overflow,
      n: this.n,
      mean: toJsonNumber(this.mean),
      m2: toJsonNumber(this.m2),
    };
  }

  /**
   * Adds what another partition of the rows found: its values not found yet, in its order (so
   * discovery order is this fit's, then each merged state's), and its moments (Chan et al.'s merge).
   */
  merge(state: LabelFitState): void {
    if (state.n > 0) {
      const nB = state.n;
      const meanB = fromJsonNumber(state.mean);
      const m2B = fromJsonNumber(state.m2);
      if (this.n === 0) Object.assign(this, { n: nB, mean: meanB, m2: m2B });
      else {
        const total = this.n + nB;
        const delta = meanB - this.mean;
        this.mean += (delta * nB) / total;
        this.m2 += m2B + (delta * delta * this.n * nB) / total;
        this.n = total;
      }
    }
    if (state.overflow) this.overflow = true;
    if (this.overflow) return;
    for (const value of state.text) {
      const index = this.index(value, this.indexOfText.get(value));
      if (index < 0) return;
      this.indexOfText.set(value, index);
    }
    for (const encoded of state.numbers) {
      const value = fromJsonNumber(encoded);
      const index = this.index(value, this.indexOfNumber.get(value));
      if (index < 0) return;
      this.indexOfNumber.set(value, index);
    }
  }

  /** Where a class value was first found (its index in what `add` wrote to `indices`). */
  discoveryIndex(value: string | number): number {
    return this.found.indexOf(value);
  }

  /** The fitted label; a column with too many (or too few) distinct values is a PipelineInputError naming the fix. */
  fit(): FittedMulticlassLabel | FittedRegressionLabel {
    const { column } = this.rule;
    if (this.regression) {
      const variance = this.n > 1 ? this.m2 / (this.n - 1) : 0;
      // A constant label scales by 1 instead of dividing by zero.
      return { column, task: 'regression', mean: this.mean, std: variance > 0 ? Math.sqrt(variance) : 1 };
    }
    const maxClasses = 'maxClasses' in this.rule ? this.rule.maxClasses : MAX_LABEL_CLASSES;
    const count = this.found.length;
    if (this.overflow || count > maxClasses) {
      const numeric = typeof this.found[0] === 'number';
      throw new PipelineInputError(
        `label.classes "auto": column "${column}" has ${this.overflow ? `more than ${DISTINCT_COUNT_LIMIT}` : count} distinct values in the train split, ` +
          `more than label.maxClasses (${maxClasses}); list the classes to predict in label.classes (rows with other values are then quarantined)` +
          `${count <= MAX_LABEL_CLASSES && !this.overflow ? `, raise label.maxClasses to ${count}` : ''}` +
          `${numeric ? ', or predict the number itself with "task": "regression"' : ''}`,
      );
    }
    if (count < 2) {
      throw new PipelineInputError(
        `label.classes "auto": column "${column}" has ${count === 0 ? 'no values' : `only one value (${JSON.stringify(this.found[0])})`} in the train split, ` +
          'and a multiclass label needs at least 2 classes; check the source (or its query) and the split',
      );
    }
    return { column, task: 'multiclass', classes: [...this.found].sort(compareClasses) };
  }
}
