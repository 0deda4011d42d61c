import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, type DataType, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { simdLoopsFor, wasmBackendMemory, type SimdLoops } from './wasm-simd';

/**
 * JavaScript kernels for the sparse model input, registered for the wasm and cpu backends. A batch
 * holds each row as a few (slot, value) pairs (6 for the flights spec, out of 234 to 634 input
 * slots), so the first layer's product, its kernel gradient and the embedding lookups are short
 * loops over the pairs: one kernel call each instead of a gather, a multiply and a sum (and, for
 * the gradient, an UnsortedSegmentSum that tfjs-backend-wasm does not implement). Each kernel
 * reads its inputs in place (the wasm heap, the cpu backend's arrays) and sums in a fixed order
 * (rows ascending, pairs ascending), so results are deterministic.
 *
 * On other backends (webgpu, tensorflow) the layers fall back to tf.gather-based ops (see
 * hasSparseKernels); those backends implement gather's gradient.
 *
 * Also registered here, for wasm only: UnsortedSegmentSum, the gradient of tf.gather, so that stock
 * layers (tfl.layers.embedding) train on wasm too.
 */

export const SPARSE_MATMUL = 'PwSparseMatMul';
export const SPARSE_MATMUL_GRAD = 'PwSparseMatMulGrad';
export const EMBED_CONCAT = 'PwEmbedConcat';
export const EMBED_CONCAT_GRAD = 'PwEmbedConcatGrad';
export const ADAM_UPDATE = 'PwAdamUpdate';
export const DENSE_GRAD = 'PwDenseGrad';
export const DENSE_FORWARD = 'PwDenseForward';
export const BINARY_CROSSENTROPY = 'PwBinaryCrossentropy';
export const BINARY_CROSSENTROPY_GRAD = 'PwBinaryCrossentropyGrad';

type Typed = Float32Array | Int32Array;

/** Reads inputs and allocates outputs on one backend without copying. */
interface Access {
  /** Allocates outputs, then hands views of inputs and outputs to `compute` (outputs are not zeroed). */
  run(inputs: TensorInfo[], outputs: Array<{ shape: number[]; dtype: DataType }>, compute: (ins: Typed[], outs: Typed[]) => void): TensorInfo[];
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Typed;
  disposeData(dataId: object): unknown;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

interface CpuBackendLike {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Typed): TensorInfo;
}

const sizeOf = (shape: number[]): number => shape.reduce((n, d) => n * d, 1);

function wasmAccess(backend: WasmBackendLike): Access {
  return {
    run(inputs, outputs, compute) {
      // Growing the wasm heap detaches earlier views: allocate every output before taking any view.
      const infos = outputs.map((o) => backend.makeOutput(o.shape, o.dtype));
      compute(
        inputs.map((t) => backend.typedArrayFromHeap(t)),
        infos.map((t) => backend.typedArrayFromHeap(t)),
      );
      return infos;
    },
  };
}

function cpuAccess(backend: CpuBackendLike): Access {
  return {
    run(inputs, outputs, compute) {
      const arrays = outputs.map((o) => (o.dtype === 'int32' ? new Int32Array(sizeOf(o.shape)) : new Float32Array(sizeOf(o.shape))));
      compute(
        inputs.map((t) => backend.data.get(t.dataId).values as Typed),
        arrays,
      );
      return outputs.map((o, i) => backend.makeTensorInfo(o.shape, o.dtype, arrays[i]!));
    },
  };
}

const ACCESS: Record<string, (backend: unknown) => Access> = {
  wasm: (b) => wasmAccess(b as WasmBackendLike),
  cpu: (b) => cpuAccess(b as CpuBackendLike),
};

function slotError(slot: number, limit: number): Error {
  return new Error(
    `input slot ${slot} is outside the model's ${limit} input slots: the encoded batch has a feature width that does not match the transform the model was built for`,
  );
}

// ---------------------------------------------------------------------------------------------
// Sparse product: out[r, :] = act(bias + Σ_k values[r, k] · weights[slots[r, k], :])

/** act: 0 linear, 1 relu. */
function sparseMatMul(
  slots: Int32Array,
  values: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  out: Float32Array,
  rows: number,
  nnz: number,
  inputDim: number,
  units: number,
  relu: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * units;
    for (let j = 0; j < units; j++) out[o + j] = bias[j]!;
    for (let k = r * nnz, end = k + nnz; k < end; k++) {
      const s = slots[k]!;
      if (!(s >= 0 && s < inputDim)) throw slotError(s, inputDim);
      const v = values[k]!;
      if (v === 0) continue;
      const wRow = s * units;
      if (v === 1) for (let j = 0; j < units; j++) out[o + j]! += w[wRow + j]!;
      else for (let j = 0; j < units; j++) out[o + j]! += v * w[wRow + j]!;
    }
    if (relu) for (let j = 0; j < units; j++) if (!(out[o + j]! > 0)) out[o + j] = 0;
  }
}

/**
 * dW[slots[r, k], :] += values[r, k] · dz[r, :] and db = Σ_r dz[r, :], where dz = dy, or dy where
 * the (relu) output was positive.
 */
function sparseMatMulGrad(
  slots: Int32Array,
  values: Float32Array,
  dy: Float32Array,
  y: Float32Array | null,
  dw: Float32Array,
  db: Float32Array,
  rows: number,
  nnz: number,
  inputDim: number,
  units: number,
): void {
  dw.fill(0);
  db.fill(0);
  const dz = y === null ? dy : new Float32Array(units);
  for (let r = 0; r < rows; r++) {
    const o = r * units;
    let base = o;
    if (y !== null) {
      for (let j = 0; j < units; j++) dz[j] = y[o + j]! > 0 ? dy[o + j]! : 0;
      base = 0;
    }
    for (let j = 0; j < units; j++) db[j]! += dz[base + j]!;
    for (let k = r * nnz, end = k + nnz; k < end; k++) {
      const s = slots[k]!;
      if (!(s >= 0 && s < inputDim)) throw slotError(s, inputDim);
      const v = values[k]!;
      if (v === 0) continue;
      const wRow = s * units;
      if (v === 1) for (let j = 0; j < units; j++) dw[wRow + j]! += dz[base + j]!;
      else for (let j = 0; j < units; j++) dw[wRow + j]! += v * dz[base + j]!;
    }
  }
}

/** The SIMD loops over a wasm backend's heap, or null (then the JavaScript loops run). */
function simdOf(backend: unknown): SimdLoops | null {
  const memory = wasmBackendMemory(backend);
  return memory === null ? null : simdLoopsFor(memory);
}

const offsetOf = (backend: WasmBackendLike, t: TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;

/** sparseMatMul on the wasm heap with SIMD row updates (byte addresses into the heap). */
function sparseMatMulSimd(
  backend: WasmBackendLike,
  loops: SimdLoops,
  inputs: Record<'slots' | 'values' | 'weights' | 'bias', TensorInfo>,
  relu: boolean,
): TensorInfo {
  const { slots, values, weights, bias } = inputs;
  const [rows, nnz] = slots.shape as [number, number];
  const [inputDim, units] = weights.shape as [number, number];
  const out = backend.makeOutput([rows, units], 'float32');
  const s = backend.typedArrayFromHeap(slots) as Int32Array;
  const v = backend.typedArrayFromHeap(values) as Float32Array;
  const b = backend.typedArrayFromHeap(bias) as Float32Array;
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const outAt = offsetOf(backend, out);
  const wAt = offsetOf(backend, weights);
  const rowBytes = units * 4;
  for (let r = 0; r < rows; r++) {
    o.set(b, r * units);
    for (let k = r * nnz, end = k + nnz; k < end; k++) {
      const slot = s[k]!;
      if (!(slot >= 0 && slot < inputDim)) throw slotError(slot, inputDim);
      const value = v[k]!;
      if (value !== 0) loops.axpy(outAt + r * rowBytes, wAt + slot * rowBytes, units, value);
    }
  }
  if (relu) loops.maskPositive(outAt, outAt, outAt, rows * units);
  return out;
}

/** sparseMatMulGrad on the wasm heap with SIMD row updates. */
function sparseMatMulGradSimd(
  backend: WasmBackendLike,
  loops: SimdLoops,
  inputs: Record<'slots' | 'values' | 'dy' | 'y', TensorInfo>,
  relu: boolean,
  inputDim: number,
): TensorInfo[] {
  const { slots, values, dy, y } = inputs;
  const [rows, nnz] = slots.shape as [number, number];
  const units = dy.shape[1]!;
  const dw = backend.makeOutput([inputDim, units], 'float32');
  const db = backend.makeOutput([units], 'float32');
  const masked = relu ? backend.makeOutput([rows, units], 'float32') : null;
  const s = backend.typedArrayFromHeap(slots) as Int32Array;
  const v = backend.typedArrayFromHeap(values) as Float32Array;
  (backend.typedArrayFromHeap(dw) as Float32Array).fill(0);
  (backend.typedArrayFromHeap(db) as Float32Array).fill(0);
  const dwAt = offsetOf(backend, dw);
  const dbAt = offsetOf(backend, db);
  let dzAt = offsetOf(backend, dy);
  if (masked) {
    loops.maskPositive(offsetOf(backend, masked), dzAt, offsetOf(backend, y), rows * units);
    dzAt = offsetOf(backend, masked);
  }
  const rowBytes = units * 4;
  for (let r = 0; r < rows; r++) {
    const dz = dzAt + r * rowBytes;
    loops.axpy(dbAt, dz, units, 1);
    for (let k = r * nnz, end = k + nnz; k < end; k++) {
      const slot = s[k]!;
      if (!(slot >= 0 && slot < inputDim)) throw slotError(slot, inputDim);
      const value = v[k]!;
      if (value !== 0) loops.axpy(dwAt + slot * rowBytes, dz, units, value);
    }
  }
  if (masked) backend.disposeData(masked.dataId);
  return [dw, db];
}

interface SparseMatMulAttrs extends NamedAttrMap {
  relu: boolean;
}

function sparseMatMulKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: SparseMatMulAttrs }) => {
    const loops = simdOf(backend);
    if (loops) return sparseMatMulSimd(backend as WasmBackendLike, loops, inputs as Record<'slots' | 'values' | 'weights' | 'bias', TensorInfo>, attrs.relu);
    const { slots, values, weights, bias } = inputs as Record<'slots' | 'values' | 'weights' | 'bias', TensorInfo>;
    const [rows, nnz] = slots.shape as [number, number];
    const [inputDim, units] = weights.shape as [number, number];
    return access(backend).run([slots, values, weights, bias], [{ shape: [rows, units], dtype: 'float32' }], ([s, v, w, b], [out]) =>
      sparseMatMul(s as Int32Array, v as Float32Array, w as Float32Array, b as Float32Array, out as Float32Array, rows, nnz, inputDim, units, attrs.relu),
    )[0]!;
  }) as unknown as KernelFunc;
}

function sparseMatMulGradKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: SparseMatMulAttrs & { inputDim: number } }) => {
    const loops = simdOf(backend);
    if (loops)
      return sparseMatMulGradSimd(backend as WasmBackendLike, loops, inputs as Record<'slots' | 'values' | 'dy' | 'y', TensorInfo>, attrs.relu, attrs.inputDim);
    const { slots, values, dy, y } = inputs as Record<'slots' | 'values' | 'dy' | 'y', TensorInfo>;
    const [rows, nnz] = slots.shape as [number, number];
    const units = dy.shape[1]!;
    const inputDim = attrs.inputDim;
    return access(backend).run(
      [slots, values, dy, y],
      [
        { shape: [inputDim, units], dtype: 'float32' },
        { shape: [units], dtype: 'float32' },
      ],
      ([s, v, d, out], [dw, db]) =>
        sparseMatMulGrad(
          s as Int32Array,
          v as Float32Array,
          d as Float32Array,
          attrs.relu ? (out as Float32Array) : null,
          dw as Float32Array,
          db as Float32Array,
          rows,
          nnz,
          inputDim,
          units,
        ),
    );
  }) as unknown as KernelFunc;
}

// ---------------------------------------------------------------------------------------------
// A dense layer's backward pass on wasm in one kernel: dz = dy (or dy where the relu output was
// positive), db = Σ_r dz[r, :], dW = xᵀ·dz, dx = dz·Wᵀ. XNNPACK multiplies only untransposed
// operands fast, and tfjs-backend-wasm's Transpose and row Sum are slow, so the transposes are
// JavaScript copies (of the smaller operand), the products XNNPACK's, the bias sum SIMD row adds.

/** dst[j, i] = src[i, j] for src [rows, cols], on typed arrays. */
function transposeInto(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    const from = i * cols;
    for (let j = 0; j < cols; j++) dst[j * rows + i] = src[from + j]!;
  }
}

/**
 * act(x·w + b) on wasm as one _FusedMatMul (XNNPACK with bias and relu fused). tf.fused.matMul
 * would not fuse here: it splits into a product, an add and a relu whenever a gradient is being
 * recorded, which is always while training.
 */
function denseForwardKernel(): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: { relu: boolean } }) => {
    const b = backend as WasmBackendLike;
    const fused = getKernel('_FusedMatMul', 'wasm')!.kernelFunc;
    const { x, w, bias } = inputs as Record<'x' | 'w' | 'bias', TensorInfo>;
    const [rows, inDim] = x.shape as [number, number];
    const outDim = w.shape[1]!;
    const out = fused({
      inputs: { a: { ...x, shape: [1, rows, inDim] }, b: { ...w, shape: [1, inDim, outDim] }, bias },
      backend,
      attrs: { transposeA: false, transposeB: false, activation: attrs.relu ? 'relu' : 'linear' },
    } as never) as TensorInfo;
    const stored = b.dataIdMap.get(out.dataId) as { shape?: number[] } | undefined;
    if (stored) stored.shape = [rows, outDim];
    return { ...out, shape: [rows, outDim] };
  }) as unknown as KernelFunc;
}

function denseGradKernel(): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: { relu: boolean } }) => {
    const b = backend as WasmBackendLike;
    const loops = simdOf(backend);
    const matMul = getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    const mm = (a: TensorInfo, c: TensorInfo): TensorInfo =>
      matMul({ inputs: { a, b: c }, backend, attrs: { transposeA: false, transposeB: false } } as never) as TensorInfo;
    const { x, w, dy, y } = inputs as Record<'x' | 'w' | 'dy' | 'y', TensorInfo>;
    const [rows, inDim] = x.shape as [number, number];
    const outDim = w.shape[1]!;
    const temps: TensorInfo[] = [];
    const temp = (shape: number[]): TensorInfo => {
      const t = b.makeOutput(shape, 'float32');
      temps.push(t);
      return t;
    };
    // Views are taken after each allocation: growing the heap detaches earlier ones.
    const view = (t: TensorInfo): Float32Array => b.typedArrayFromHeap(t) as Float32Array;
    let dz = dy;
    if (attrs.relu) {
      dz = temp([rows, outDim]);
      if (loops) loops.maskPositive(offsetOf(b, dz), offsetOf(b, dy), offsetOf(b, y), rows * outDim);
      else {
        const [d, g, o] = [view(dz), view(dy), view(y)];
        for (let i = 0; i < d.length; i++) d[i] = o[i]! > 0 ? g[i]! : 0;
      }
    }
    const db = b.makeOutput([outDim], 'float32');
    {
      const acc = view(db);
      acc.fill(0);
      if (loops) for (let r = 0; r < rows; r++) loops.axpy(offsetOf(b, db), offsetOf(b, dz) + r * outDim * 4, outDim, 1);
      else {
        const d = view(dz);
        for (let r = 0; r < rows; r++) for (let j = 0; j < outDim; j++) acc[j]! += d[r * outDim + j]!;
      }
    }
    let dw: TensorInfo;
    if (outDim <= inDim) {
      // dWᵀ = dzᵀ·x, moving dz (the smaller), then the small [out, in] product back.
      const dzT = temp([outDim, rows]);
      transposeInto(view(dz), view(dzT), rows, outDim);
      const dwT = mm(dzT, x);
      temps.push(dwT);
      dw = b.makeOutput([inDim, outDim], 'float32');
      transposeInto(view(dwT), view(dw), outDim, inDim);
    } else {
      const xT = temp([inDim, rows]);
      transposeInto(view(x), view(xT), rows, inDim);
      dw = mm(xT, dz);
    }
    const wT = temp([outDim, inDim]);
    transposeInto(view(w), view(wT), inDim, outDim);
    const dx = mm(dz, wT);
    for (const t of temps) b.disposeData(t.dataId);
    return [dx, dw, db];
  }) as unknown as KernelFunc;
}

// ---------------------------------------------------------------------------------------------
// Embedding lookup and concatenation over pair positions.

/**
 * What a layout says about each pair position k (the k-th pair of every row), as flat numbers, six
 * per position: [mode, first, width, column, dim, table]. mode EMBED: the row's index is
 * slots[r, k] - first (in [0, width)), its vector is row `index` of embedding table `table`
 * ([width, dim]) and goes to output columns [column, column + dim). mode PASS_VALUE: values[r, k]
 * goes to output column `column`. mode 0: the position is not used.
 */
export interface EmbedLayout extends NamedAttrMap {
  positions: number[];
  /** Output columns. */
  outWidth: number;
  /** How many tables (inputs t0, t1, ...). */
  tables: number;
}

export const EMBED = 1;
export const PASS_VALUE = 2;
export const LAYOUT_STRIDE = 6;

function embedConcat(slots: Int32Array, values: Float32Array, tables: Float32Array[], out: Float32Array, rows: number, nnz: number, layout: EmbedLayout): void {
  const { positions, outWidth } = layout;
  for (let r = 0; r < rows; r++) {
    const o = r * outWidth;
    for (let k = 0; k < nnz; k++) {
      const p = k * LAYOUT_STRIDE;
      const mode = positions[p];
      if (mode === EMBED) {
        const first = positions[p + 1]!;
        const width = positions[p + 2]!;
        const column = positions[p + 3]!;
        const dim = positions[p + 4]!;
        const index = slots[r * nnz + k]! - first;
        if (!(index >= 0 && index < width)) throw slotError(slots[r * nnz + k]!, first + width);
        const table = tables[positions[p + 5]!]!;
        const t = index * dim;
        for (let j = 0; j < dim; j++) out[o + column + j] = table[t + j]!;
      } else if (mode === PASS_VALUE) {
        out[o + positions[p + 3]!] = values[r * nnz + k]!;
      }
    }
  }
}

function embedConcatGrad(slots: Int32Array, dy: Float32Array, dts: Float32Array[], rows: number, nnz: number, layout: EmbedLayout): void {
  const { positions, outWidth } = layout;
  for (const dt of dts) dt.fill(0);
  for (let r = 0; r < rows; r++) {
    const o = r * outWidth;
    for (let k = 0; k < nnz; k++) {
      const p = k * LAYOUT_STRIDE;
      if (positions[p] !== EMBED) continue;
      const first = positions[p + 1]!;
      const width = positions[p + 2]!;
      const column = positions[p + 3]!;
      const dim = positions[p + 4]!;
      const index = slots[r * nnz + k]! - first;
      if (!(index >= 0 && index < width)) throw slotError(slots[r * nnz + k]!, first + width);
      const dt = dts[positions[p + 5]!]!;
      const t = index * dim;
      for (let j = 0; j < dim; j++) dt[t + j]! += dy[o + column + j]!;
    }
  }
}

function embedConcatKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: EmbedLayout }) => {
    const { slots, values } = inputs as Record<'slots' | 'values', TensorInfo>;
    const tables = Array.from({ length: attrs.tables }, (_, i) => inputs[`t${i}`]!);
    const [rows, nnz] = slots.shape as [number, number];
    return access(backend).run([slots, values, ...tables], [{ shape: [rows, attrs.outWidth], dtype: 'float32' }], ([s, v, ...t], [out]) =>
      embedConcat(s as Int32Array, v as Float32Array, t as Float32Array[], out as Float32Array, rows, nnz, attrs),
    )[0]!;
  }) as unknown as KernelFunc;
}

function embedConcatGradKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: EmbedLayout }) => {
    const { slots, dy } = inputs as Record<'slots' | 'dy', TensorInfo>;
    const shapes = Array.from({ length: attrs.tables }, (_, i) => inputs[`t${i}`]!.shape);
    const [rows, nnz] = slots.shape as [number, number];
    return access(backend).run(
      [slots, dy],
      shapes.map((shape) => ({ shape, dtype: 'float32' as const })),
      ([s, d], dts) => embedConcatGrad(s as Int32Array, d as Float32Array, dts as Float32Array[], rows, nnz, attrs),
    );
  }) as unknown as KernelFunc;
}

// ---------------------------------------------------------------------------------------------
// Adam in one pass: the moments and the variable's next value, as tf.train.adam computes them.

interface AdamAttrs extends NamedAttrMap {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t for this step t (1-based). */
  correction1: number;
  correction2: number;
}

function adamKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: AdamAttrs }) => {
    const { x, g, m, v } = inputs as Record<'x' | 'g' | 'm' | 'v', TensorInfo>;
    const shape = x.shape;
    const { learningRate, beta1, beta2, epsilon, correction1, correction2 } = attrs;
    const loops = simdOf(backend);
    if (loops) {
      const wb = backend as WasmBackendLike;
      const [xo, mo, vo] = [0, 1, 2].map(() => wb.makeOutput(shape, 'float32')) as [TensorInfo, TensorInfo, TensorInfo];
      const at = (t: TensorInfo): number => offsetOf(wb, t);
      loops.adam(
        at(xo),
        at(mo),
        at(vo),
        at(x),
        at(g),
        at(m),
        at(v),
        sizeOf(shape),
        beta1,
        1 - beta1,
        beta2,
        1 - beta2,
        -learningRate,
        correction1,
        correction2,
        epsilon,
      );
      return [xo, mo, vo];
    }
    const b1 = Math.fround(beta1);
    const b2 = Math.fround(beta2);
    const c1 = Math.fround(1 - beta1);
    const c2 = Math.fround(1 - beta2);
    return access(backend).run(
      [x, g, m, v],
      [
        { shape, dtype: 'float32' },
        { shape, dtype: 'float32' },
        { shape, dtype: 'float32' },
      ],
      ([xa, ga, ma, va], [xo, mo, vo]) => {
        const n = xa!.length;
        for (let i = 0; i < n; i++) {
          const gi = ga![i]!;
          const mi = Math.fround(ma![i]! * b1 + gi * c1);
          const vi = Math.fround(va![i]! * b2 + gi * gi * c2);
          mo![i] = mi;
          vo![i] = vi;
          xo![i] = xa![i]! - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
        }
      },
    );
  }) as unknown as KernelFunc;
}

// ---------------------------------------------------------------------------------------------
// Binary cross-entropy on probabilities, as tfjs-layers' binaryCrossentropy: p clipped to
// [epsilon, 1 - epsilon], loss = -(y log p + (1 - y) log(1 - p)), one value per row ([rows, 1]
// in, [rows] out); the gradient is 0 where p was clipped, as clipByValue's.

interface CrossentropyAttrs extends NamedAttrMap {
  epsilon: number;
}

function binaryCrossentropyKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: CrossentropyAttrs }) => {
    const { labels, predictions } = inputs as Record<'labels' | 'predictions', TensorInfo>;
    const rows = predictions.shape[0]!;
    // The clip bounds as float32, as clipByValue applies them to a float32 tensor.
    const lo = Math.fround(attrs.epsilon);
    const hi = Math.fround(1 - attrs.epsilon);
    return access(backend).run([labels, predictions], [{ shape: [rows], dtype: 'float32' }], ([y, p], [out]) => {
      for (let r = 0; r < rows; r++) {
        const pr = Math.min(hi, Math.max(lo, p![r]!));
        const yr = y![r]!;
        out![r] = -(yr * Math.log(pr) + (1 - yr) * Math.log(1 - pr));
      }
    })[0]!;
  }) as unknown as KernelFunc;
}

function binaryCrossentropyGradKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: CrossentropyAttrs }) => {
    const { labels, predictions, dy } = inputs as Record<'labels' | 'predictions' | 'dy', TensorInfo>;
    const rows = predictions.shape[0]!;
    // The clip bounds as float32, as clipByValue applies them to a float32 tensor.
    const lo = Math.fround(attrs.epsilon);
    const hi = Math.fround(1 - attrs.epsilon);
    return access(backend).run([labels, predictions, dy], [{ shape: predictions.shape, dtype: 'float32' }], ([y, p, d], [out]) => {
      for (let r = 0; r < rows; r++) {
        const pr = p![r]!;
        out![r] = pr >= lo && pr <= hi ? (d![r]! * (pr - y![r]!)) / (pr * (1 - pr)) : 0;
      }
    })[0]!;
  }) as unknown as KernelFunc;
}

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum on wasm (tf.gather's gradient).

function unsortedSegmentSumKernel(access: (backend: unknown) => Access): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: { numSegments: number } }) => {
    const { x, segmentIds } = inputs as Record<'x' | 'segmentIds', TensorInfo>;
    const ids = sizeOf(segmentIds.shape);
    const inner = ids === 0 ? 0 : sizeOf(x.shape) / ids;
    const shape = [attrs.numSegments, ...x.shape.slice(segmentIds.shape.length)];
    const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
    return access(backend).run([x, segmentIds], [{ shape, dtype }], ([xa, sa], [out]) => {
      out!.fill(0);
      for (let i = 0; i < ids; i++) {
        const seg = sa![i]!;
        if (seg < 0 || seg >= attrs.numSegments) continue; // as TensorFlow: out-of-range ids are dropped
        const o = seg * inner;
        const from = i * inner;
        for (let j = 0; j < inner; j++) out![o + j]! += xa![from + j]!;
      }
    })[0]!;
  }) as unknown as KernelFunc;
}

let installed = false;

/** Registers the kernels for wasm and cpu (idempotent; the backends need not be loaded yet). */
export function installSparseKernels(): void {
  if (installed) return;
  installed = true;
  for (const [backendName, access] of Object.entries(ACCESS)) {
    const kernels: Array<[string, KernelFunc]> = [
      [SPARSE_MATMUL, sparseMatMulKernel(access)],
      [SPARSE_MATMUL_GRAD, sparseMatMulGradKernel(access)],
      [EMBED_CONCAT, embedConcatKernel(access)],
      [EMBED_CONCAT_GRAD, embedConcatGradKernel(access)],
      [ADAM_UPDATE, adamKernel(access)],
      [BINARY_CROSSENTROPY, binaryCrossentropyKernel(access)],
      [BINARY_CROSSENTROPY_GRAD, binaryCrossentropyGradKernel(access)],
    ];
    if (backendName === 'wasm')
      kernels.push(['UnsortedSegmentSum', unsortedSegmentSumKernel(access)], [DENSE_GRAD, denseGradKernel()], [DENSE_FORWARD, denseForwardKernel()]);
    for (const [kernelName, kernelFunc] of kernels) {
      if (!getKernel(kernelName, backendName)) registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

installSparseKernels();

/** Whether the active backend runs the kernels above (wasm, cpu); elsewhere layers use stock ops. */
export function hasSparseKernels(): boolean {
  return getKernel(SPARSE_MATMUL, tf.getBackend()) !== undefined;
}

/** Whether the active backend has the one-kernel dense backward pass (wasm). */
export function hasDenseGradKernel(): boolean {
  return getKernel(DENSE_GRAD, tf.getBackend()) !== undefined && getKernel('BatchMatMul', tf.getBackend()) !== undefined;
}

/** Whether the active backend has the fused dense forward kernel (wasm). */
export function hasDenseForwardKernel(): boolean {
  return getKernel(DENSE_FORWARD, tf.getBackend()) !== undefined && getKernel('_FusedMatMul', tf.getBackend()) !== undefined;
}
