import type { RecordBatch } from 'apache-arrow';
import { LabelEncoder } from './label-encoder';
import { splitOf, type SplitCode, type SplitRule } from './split';
import type { FittedLabel } from './transform-format';

/** Each row's split code (SPLIT_CODE) for the batches of a raw shard: the fit and every apply use the same. */
export class RowSplitter {
  private readonly labels: LabelEncoder | null;
  /**
   * A stratified fold's classes, from its own label (the plan's): a fold's fit reads the strata before
   * its own label is fitted, and a "classes": "auto" label learns its classes in that very pass.
   */
  private readonly foldStrata: LabelEncoder | null;

  /** `label` is read only by a stratified split, which needs it fitted (its classes known); otherwise it may be null. */
  constructor(
    private readonly rowId: string,
    private readonly label: FittedLabel | null,
    private readonly rule: SplitRule,
  ) {
    // Only a stratified split reads the label, only a time split the time.
    if (rule.strata && label === null) throw new Error('a stratified split reads the label: give the RowSplitter the fitted label');
    this.labels = rule.strata ? new LabelEncoder(label!) : null;
    this.foldStrata = rule.fold?.strata ? new LabelEncoder(rule.fold.strata) : null;
  }

  split(batch: RecordBatch): Uint8Array {
    const n = batch.numRows;
    const keys = batch.getChild(this.rowId)!.toArray() as Float64Array;
    const times = this.rule.time ? (batch.getChild(this.rule.time.column)!.toArray() as Float64Array) : null;
    const labels = this.labels ? this.labels.encode(batch.getChild(this.label!.column)!.data[0]!, n) : null;
    const strata = this.foldStrata ? this.foldStrata.encode(batch.getChild(this.rule.fold!.strata!.column)!.data[0]!, n) : null;
    const codes = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      codes[r] = splitOf(this.rule, keys[r]!, times ? times[r]! : 0, labels ? labels[r]! : 0, strata ? strata[r]! : 0) satisfies SplitCode;
    }
    return codes;
  }
}
