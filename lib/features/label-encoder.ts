import { Type, type Data, type Float64, type Utf8 } from 'apache-arrow';
import type { LabelRule } from '../spec/pipeline-spec';
import { labelOf } from './transform';
import { Utf8Interner } from './utf8-interner';

/**
 * Turns a shard's raw label column into 0/1 labels: a numeric column value by value, a text column
 * by deciding each distinct value once (interned from its UTF-8 bytes) and mapping rows by id.
 */
export class LabelEncoder {
  private readonly interner = new Utf8Interner();
  private readonly labelOfId: number[] = [];
  private ids = new Int32Array(0);

  constructor(private readonly rule: LabelRule) {}

  encode(column: Data, rows: number): Float32Array {
    const out = new Float32Array(rows);
    if (column.typeId === Type.Utf8) {
      if (this.ids.length < rows) this.ids = new Int32Array(rows);
      this.interner.intern(column as Data<Utf8>, this.ids);
      const values = this.interner.values;
      for (let id = this.labelOfId.length; id < values.length; id++) this.labelOfId.push(labelOf(this.rule, values[id]!));
      // Ingest quarantines rows with a NULL label, so every id here is a value.
      for (let r = 0; r < rows; r++) out[r] = this.labelOfId[this.ids[r]!]!;
    } else {
      const values = (column as Data<Float64>).values;
      for (let r = 0; r < rows; r++) out[r] = labelOf(this.rule, values[r]!);
    }
    return out;
  }
}
