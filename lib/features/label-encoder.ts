import { Type, type Data, type Float64, type Utf8 } from 'apache-arrow';
import { labelOf } from './transform';
import type { FittedLabel } from './transform-format';
import { Utf8Interner } from './utf8-interner';

/**
 * Turns a shard's raw label column into encoded labels (see FittedLabel): 0/1 for a binary label, the
 * class index for a multiclass one (-1 where the value is not one of its classes: the caller names
 * the row), (y - mean) / std for a regression one. A numeric column is encoded value by value, a text
 * column by deciding each distinct value once (interned from its UTF-8 bytes) and mapping rows by id.
 */
export class LabelEncoder {
  private readonly interner = new Utf8Interner();
  private readonly labelOfId: number[] = [];
  private ids = new Int32Array(0);
  /** A multiclass label's class index by value: labelOf would search the class list per row. */
  private readonly classIndex: Map<string | number, number> | null;

  constructor(private readonly label: FittedLabel) {
    this.classIndex = 'task' in label && label.task === 'multiclass' ? new Map(label.classes.map((c, i) => [c, i])) : null;
  }

  private encodeValue(value: number | string): number {
    if (this.classIndex !== null) return this.classIndex.get(value) ?? -1;
    return labelOf(this.label, value);
  }

  encode(column: Data, rows: number): Float32Array {
    const out = new Float32Array(rows);
    if (column.typeId === Type.Utf8) {
      if (this.ids.length < rows) this.ids = new Int32Array(rows);
      this.interner.intern(column as Data<Utf8>, this.ids);
      const values = this.interner.values;
      for (let id = this.labelOfId.length; id < values.length; id++) this.labelOfId.push(this.encodeValue(values[id]!));
      // Ingest quarantines rows with a NULL label, so every id here is a value.
      for (let r = 0; r < rows; r++) out[r] = this.labelOfId[this.ids[r]!]!;
    } else if (this.classIndex !== null) {
      const values = (column as Data<Float64>).values;
      for (let r = 0; r < rows; r++) out[r] = this.classIndex.get(values[r]!) ?? -1;
    } else {
      const values = (column as Data<Float64>).values;
      for (let r = 0; r < rows; r++) out[r] = labelOf(this.label, values[r]!);
    }
    return out;
  }
}
