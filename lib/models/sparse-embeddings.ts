import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../random';
import { EMBED, PASS_VALUE, type EmbedLayout } from './sparse-kernels';
import { embedConcat } from './sparse-ops';
import { sparseInputs } from './sparse-dense';

/** One embedding table: a feature (or timestamp part) with `width` slots, embedded in `dim` numbers. */
export interface EmbeddingTable {
  name: string;
  /** First input slot of the feature: a row's index into the table is its slot minus this. */
  first: number;
  width: number;
  dim: number;
}

export interface SparseEmbeddingsArgs {
  name?: string;
  /**
   * Per pair position (the k-th (slot, value) pair of every row): the table it indexes (≥ 0), or -1
   * for a value passed through as it is (a numeric feature, a cyclical part's sine or cosine).
   */
  positions: number[];
  tables: EmbeddingTable[];
  /** Seed of the tables' initialisers (uniform in ±0.05, as Keras' Embedding). */
  seed: number;
}

/**
 * The deep part's input of a wide & deep model: for every pair position of a row, the embedding
 * of its slot (one table per categorical-like feature) or its value, concatenated in position
 * order. Inputs [slots int32 [rows, nnz], values [rows, nnz]]; output [rows, Σ dim + values].
 */
export class SparseEmbeddings extends tfl.layers.Layer {
  static readonly className = 'SparseEmbeddings';
  readonly positions: number[];
  readonly tableSpecs: EmbeddingTable[];
  readonly seed: number;
  readonly layout: EmbedLayout;
  private tables: tfl.LayerVariable[] = [];

  constructor(args: SparseEmbeddingsArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    this.positions = args.positions;
    this.tableSpecs = args.tables;
    this.seed = args.seed;
    const flat: number[] = [];
    let column = 0;
    for (const table of args.positions) {
      if (table < 0) {
        flat.push(PASS_VALUE, 0, 1, column, 1, 0);
        column += 1;
      } else {
        const t = args.tables[table];
        if (!t) throw new Error(`SparseEmbeddings: position refers to table ${table}, but there are ${args.tables.length}`);
        flat.push(EMBED, t.first, t.width, column, t.dim, table);
        column += t.dim;
      }
    }
    this.layout = { positions: flat, outWidth: column, tables: args.tables.length };
  }

  get outWidth(): number {
    return this.layout.outWidth;
  }

  override build(): void {
    this.tables = this.tableSpecs.map((t, i) =>
      this.addWeight(
        `embeddings_${t.name}`,
        [t.width, t.dim],
        'float32',
        tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: deriveSeed(this.seed, 'embedding', i) }),
        undefined,
        true,
      ),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const first = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [first[0] ?? null, this.layout.outWidth];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [slots, values] = sparseInputs(inputs, this.name);
      if (slots.shape[1] !== this.positions.length) {
        throw new Error(
          `layer "${this.name}" takes ${this.positions.length} (slot, value) pairs per row, got ${slots.shape[1]}: a batch encoded with another transform`,
        );
      }
      return embedConcat(
        slots,
        values,
        this.tables.map((t) => t.read()),
        this.layout,
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), positions: this.positions, tables: this.tableSpecs as unknown as tf.serialization.ConfigDictValue, seed: this.seed };
  }
}

tf.serialization.registerClass(SparseEmbeddings);
