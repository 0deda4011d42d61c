import { averageCheckpoints, type WeightedCheckpoint } from '../../lib/training/average-checkpoints';
import type { SavedModel } from '../../lib/models/model-io';

type Spec = SavedModel['weightSpecs'][number];

const TOPOLOGY = { class_name: 'Sequential', config: { name: 'tiny', layers: [{ class_name: 'Dense', config: { units: 2 } }] } };
const WEIGHT_SPECS: Spec[] = [
  { name: 'dense/kernel', shape: [2, 2], dtype: 'float32' },
  { name: 'dense/bias', shape: [2], dtype: 'float32' },
];
const OPTIMIZER_SPECS: Spec[] = [
  { name: 'iter', shape: [], dtype: 'int32' },
  { name: 'dense/kernel/m', shape: [2, 2], dtype: 'float32' },
  { name: 'dense/kernel/v', shape: [2, 2], dtype: 'float32' },
];

/** Tensors laid out one after the other, as tf.io.encodeWeights does, in base64. */
function encode(specs: Spec[], values: number[][]): string {
  const chunks = specs.map((s, i) => {
    const data = values[i]!;
    const array = s.dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
    return Buffer.from(array.buffer);
  });
  return Buffer.concat(chunks).toString('base64');
}

function decode(specs: Spec[], base64: string): number[][] {
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  let offset = 0;
  return specs.map((s) => {
    const size = s.shape.reduce((n, d) => n * d, 1);
    const out = Array.from(s.dtype === 'int32' ? new Int32Array(bytes.buffer, offset, size) : new Float32Array(bytes.buffer, offset, size));
    offset += size * 4;
    return out;
  });
}

interface Tiny {
  kernel: number[];
  bias: number[];
  iter?: number;
  m?: number[];
  v?: number[];
}

function saved({ kernel, bias, iter, m, v }: Tiny, topology: unknown = TOPOLOGY): SavedModel {
  return {
    format: 'pipewright.tfjs-layers/v1',
    modelTopology: topology,
    weightSpecs: WEIGHT_SPECS,
    weightData: encode(WEIGHT_SPECS, [kernel, bias]),
    ...(iter !== undefined ? { optimizer: { specs: OPTIMIZER_SPECS, data: encode(OPTIMIZER_SPECS, [[iter], m!, v!]) } } : {}),
  };
}

const f32 = (values: number[]): number[] => values.map(Math.fround);

const A: Tiny = { kernel: [1, -2, 0.1, 3.5], bias: [0.3, -0.7], iter: 12, m: [0.01, 0.02, -0.03, 0.04], v: [1e-4, 2e-4, 3e-4, 4e-4] };
const B: Tiny = { kernel: [5, 6, -0.2, 1.25], bias: [-0.1, 0.9], iter: 10, m: [-0.05, 0.06, 0.07, 0.08], v: [5e-4, 6e-4, 7e-4, 8e-4] };

describe('averageCheckpoints', () => {
  test('two workers with 1 and 3 examples: 0.25·a + 0.75·b, exactly (float64 sum, then float32), weights and optimizer moments', () => {
    const merged = averageCheckpoints([
      { saved: saved(A), examples: 1 },
      { saved: saved(B), examples: 3 },
    ]);
    const mean = (a: number[], b: number[]): number[] => f32(a).map((x, i) => Math.fround(0.25 * x + 0.75 * Math.fround(b[i]!)));
    expect(decode(WEIGHT_SPECS, merged.weightData)).toEqual([mean(A.kernel, B.kernel), mean(A.bias, B.bias)]);
    const [iter, m, v] = decode(OPTIMIZER_SPECS, merged.optimizer!.data);
    expect(m).toEqual(mean(A.m!, B.m!));
    expect(v).toEqual(mean(A.v!, B.v!));
    // Spot check with round numbers: 0.25·1 + 0.75·5 = 4.
    expect(decode(WEIGHT_SPECS, merged.weightData)[0]![0]).toBe(4);
    // Adam's step count is an int32: the furthest worker's, not a mean.
    expect(iter).toEqual([12]);
  });

  test('keeps the format, topology and tensor specs of the checkpoints', () => {
    const merged = averageCheckpoints([
      { saved: saved(A), examples: 5 },
      { saved: saved(B), examples: 5 },
    ]);
    expect(merged.format).toBe('pipewright.tfjs-layers/v1');
    expect(merged.modelTopology).toEqual(TOPOLOGY);
    expect(merged.weightSpecs).toEqual(WEIGHT_SPECS);
    expect(merged.optimizer!.specs).toEqual(OPTIMIZER_SPECS);
    expect(Buffer.from(merged.weightData, 'base64').byteLength).toBe(Buffer.from(saved(A).weightData, 'base64').byteLength);
  });

  test('the int32 step count takes the maximum whichever worker has it', () => {
    const merged = averageCheckpoints([
      { saved: saved({ ...A, iter: 3 }), examples: 100 },
      { saved: saved({ ...B, iter: 40 }), examples: 1 },
      { saved: saved({ ...A, iter: 17 }), examples: 1 },
    ]);
    expect(decode(OPTIMIZER_SPECS, merged.optimizer!.data)[0]).toEqual([40]);
  });

  test('three workers: the example-weighted mean, summed in worker order (deterministic)', () => {
    const C: Tiny = { ...A, kernel: [0, 0, 0, 8], bias: [1, 1] };
    const parts: WeightedCheckpoint[] = [
      { saved: saved(A), examples: 2 },
      { saved: saved(B), examples: 1 },
      { saved: saved(C), examples: 1 },
    ];
    const merged = averageCheckpoints(parts);
    const expected = f32(A.kernel).map((a, i) => {
      let sum = 0;
      sum += 0.5 * a;
      sum += 0.25 * Math.fround(B.kernel[i]!);
      sum += 0.25 * Math.fround(C.kernel[i]!);
      return Math.fround(sum);
    });
    expect(decode(WEIGHT_SPECS, merged.weightData)[0]).toEqual(expected);
    expect(averageCheckpoints(parts).weightData).toBe(merged.weightData);
  });

  test('equal checkpoints average to themselves', () => {
    const merged = averageCheckpoints([
      { saved: saved(A), examples: 3 },
      { saved: saved(A), examples: 7 },
    ]);
    expect(decode(WEIGHT_SPECS, merged.weightData)).toEqual([f32(A.kernel), f32(A.bias)]);
  });

  test('one checkpoint is returned unchanged (the same object), whatever its examples', () => {
    const only = saved(A);
    expect(averageCheckpoints([{ saved: only, examples: 3 }])).toBe(only);
    expect(averageCheckpoints([{ saved: only, examples: 0 }])).toBe(only);
  });

  test('checkpoints without optimizer state average their weights only', () => {
    const merged = averageCheckpoints([
      { saved: saved({ kernel: A.kernel, bias: A.bias }), examples: 1 },
      { saved: saved({ kernel: B.kernel, bias: B.bias }), examples: 1 },
    ]);
    expect(merged.optimizer).toBeUndefined();
  });

  test('another model topology is refused', () => {
    const other = { ...TOPOLOGY, config: { ...TOPOLOGY.config, layers: [{ class_name: 'Dense', config: { units: 3 } }] } };
    expect(() =>
      averageCheckpoints([
        { saved: saved(A), examples: 1 },
        { saved: saved(B, other), examples: 1 },
      ]),
    ).toThrow(/checkpoint 1 has another model topology/);
  });

  test('other tensors (name, shape or dtype) are refused, in the weights and in the optimizer state', () => {
    const renamed: SavedModel = { ...saved(B), weightSpecs: [WEIGHT_SPECS[0]!, { ...WEIGHT_SPECS[1]!, name: 'dense/bias_1' }] };
    expect(() =>
      averageCheckpoints([
        { saved: saved(A), examples: 1 },
        { saved: renamed, examples: 1 },
      ]),
    ).toThrow(/checkpoint 1's weights has other tensors/);
    const reshaped: SavedModel = { ...saved(B), weightSpecs: [{ ...WEIGHT_SPECS[0]!, shape: [4, 1] }, WEIGHT_SPECS[1]!] };
    expect(() =>
      averageCheckpoints([
        { saved: saved(A), examples: 1 },
        { saved: reshaped, examples: 1 },
      ]),
    ).toThrow(/other tensors/);
    const b = saved(B);
    const otherOptimizer: SavedModel = { ...b, optimizer: { ...b.optimizer!, specs: OPTIMIZER_SPECS.slice(0, 2) } };
    expect(() =>
      averageCheckpoints([
        { saved: saved(A), examples: 1 },
        { saved: otherOptimizer, examples: 1 },
      ]),
    ).toThrow(/optimizer state has other tensors/);
  });

  test('optimizer state in one checkpoint but not another is refused', () => {
    expect(() =>
      averageCheckpoints([
        { saved: saved(A), examples: 1 },
        { saved: saved({ kernel: B.kernel, bias: B.bias }), examples: 1 },
      ]),
    ).toThrow(/checkpoint 1 has no optimizer state/);
  });

  test('no checkpoints, or workers that trained on no examples, are refused', () => {
    expect(() => averageCheckpoints([])).toThrow(/at least one checkpoint/);
    expect(() =>
      averageCheckpoints([
        { saved: saved(A), examples: 0 },
        { saved: saved(B), examples: 0 },
      ]),
    ).toThrow(/no examples/);
  });

  test('a tensor of a dtype that cannot be averaged is refused', () => {
    const specs: Spec[] = [{ name: 'names', shape: [1], dtype: 'string' }];
    const odd: SavedModel = {
      format: 'pipewright.tfjs-layers/v1',
      modelTopology: TOPOLOGY,
      weightSpecs: specs,
      weightData: Buffer.from([1, 2, 3, 4]).toString('base64'),
    };
    expect(() =>
      averageCheckpoints([
        { saved: odd, examples: 1 },
        { saved: odd, examples: 1 },
      ]),
    ).toThrow(/dtype string, which cannot be averaged/);
  });
});
