import { getKernel, registerKernel, unregisterKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-wasm's BatchMatMul runs about 10x slower when asked to transpose an operand: it
 * leaves XNNPACK's fast path. Every dense layer's backward pass asks for exactly that (aᵀ·dy for
 * the kernel's gradient, dy·bᵀ for the input's), which made it 80 % of a training step. This
 * routes transposed products through an explicit transpose of the cheaper side and the fast
 * untransposed product, and aᵀ·b with a sparse (one-hot) batch as a through a pass over its
 * nonzeros. Same sums in another order; a 4096-row step of the flights MLP drops from
 * ~25 ms to ~7.
 */
let installed = false;

interface WasmBackendLike {
  disposeData(dataId: object): unknown;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

interface KernelArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: WasmBackendLike;
  attrs: NamedAttrMap & { transposeA?: boolean; transposeB?: boolean };
}

/**
 * aᵀ·b computed in JavaScript over a's nonzeros when a is mostly zeros, as a batch of one-hot
 * encoded rows is (6 nonzeros in 234 for the flights spec): the kernel gradient of a model's first
 * layer in one pass over the batch, with no packing of the batch into XNNPACK's layout. Returns
 * null as soon as a turns out denser than SPARSE_MAX_DENSITY. (Unlike the dense product, a zero in
 * a times an infinity in b adds nothing rather than NaN.) The forward product gained nothing from
 * the same treatment, so it stays on XNNPACK.
 */
const SPARSE_MIN_ELEMENTS = 1 << 16;
const SPARSE_MAX_DENSITY = 0.05;

function sparseTransposedProduct(a: TensorInfo, b: TensorInfo, backend: WasmBackendLike): TensorInfo | null {
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const [k, m] = a.shape as [number, number];
  const n = b.shape[1]!;
  if (k * m < SPARSE_MIN_ELEMENTS) return null;
  // Growing the wasm heap detaches earlier views, so allocate the output before taking any.
  const out = backend.makeOutput([m, n], 'float32');
  const av = backend.typedArrayFromHeap(a);
  const bv = backend.typedArrayFromHeap(b);
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  const limit = k * m * SPARSE_MAX_DENSITY;
  let nonZero = 0;
  // Skip zeros two at a time: two +0/-0 floats read as one float64 compare equal to 0. Needs
  // 8-byte alignment, which the wasm allocator gives; otherwise go one float at a time.
  const pairs = av.byteOffset % 8 === 0 ? new Float64Array(av.buffer, av.byteOffset, av.length >> 1) : null;
  const visit = (i: number): boolean => {
    const v = av[i]!;
    if (v === 0) return true;
    if (++nonZero > limit) return false;
    const row = (i / m) | 0;
    const oRow = (i - row * m) * n;
    const bRow = row * n;
    for (let j = 0; j < n; j++) ov[oRow + j]! += v * bv[bRow + j]!;
    return true;
  };
  let ok = true;
  if (pairs) {
    for (let w = 0; ok && w < pairs.length; w++) if (pairs[w] !== 0) ok = visit(2 * w) && visit(2 * w + 1);
    if (ok && av.length % 2 === 1) ok = visit(av.length - 1);
  } else {
    for (let i = 0; ok && i < av.length; i++) ok = visit(i);
  }
  if (!ok) {
    backend.disposeData(out.dataId);
    return null;
  }
  return out;
}

/** Replaces the wasm BatchMatMul kernel; call after @tensorflow/tfjs-backend-wasm is imported, before its first use. */
export function installFastTransposedMatMul(): void {
  if (installed) return;
  const original = getKernel('BatchMatMul', 'wasm');
  const transposeKernel = getKernel('Transpose', 'wasm');
  if (!original || !transposeKernel) return; // wasm backend not loaded: nothing to patch
  const kernelFunc = ((args: KernelArgs) => fastBatchMatMul(args, original.kernelFunc, transposeKernel.kernelFunc)) as unknown as KernelFunc;
  unregisterKernel('BatchMatMul', 'wasm');
  registerKernel({ ...original, kernelFunc });
  installed = true;
}

const size = (t: TensorInfo, from: number): number => t.shape.slice(from).reduce((n, d) => n * d, 1);

function fastBatchMatMul(args: KernelArgs, matMul: KernelFunc, transposeKernel: KernelFunc): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { transposeA = false, transposeB = false } = attrs;
  const sparse = transposeA && !transposeB ? sparseTransposedProduct(inputs.a, inputs.b, backend) : null;
  if (sparse) return sparse;
  if (!transposeA && !transposeB) return matMul(args as never) as TensorInfo;
  // Intermediates go through temp() and are released at the end; the result never does.
  const temps: TensorInfo[] = [];
  const temp = (x: TensorInfo): TensorInfo => {
    temps.push(x);
    return x;
  };
  const t = (x: TensorInfo): TensorInfo => {
    const rank = x.shape.length;
    const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
    return transposeKernel({ inputs: { x }, backend, attrs: { perm } } as never) as TensorInfo;
  };
  const mm = (a: TensorInfo, b: TensorInfo): TensorInfo =>
    matMul({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } } as never) as TensorInfo;
  const { a, b } = inputs;
  // Element counts of the last two dimensions decide which side is cheaper to move.
  const aSize = size(a, -2);
  const bSize = size(b, -2);
  let out: TensorInfo;
  if (transposeA && transposeB) {
    out = t(temp(mm(b, a))); // aᵀ·bᵀ = (b·a)ᵀ
  } else if (transposeA) {
    // a: [K, M], b: [K, N]. Either aᵀ·b, or (bᵀ·a)ᵀ when b plus the [N, M] product is smaller than a.
    const [m, n] = [a.shape[a.shape.length - 1]!, b.shape[b.shape.length - 1]!];
    out = aSize <= bSize + m * n ? mm(temp(t(a)), b) : t(temp(mm(temp(t(b)), a)));
  } else {
    // a: [M, K], b: [N, K]. Either a·bᵀ, or (b·aᵀ)ᵀ when a plus the [N, M] product is smaller than b.
    const [m, n] = [a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 2]!];
    out = bSize <= aSize + m * n ? mm(a, temp(t(b))) : t(temp(mm(b, temp(t(a)))));
  }
  for (const temp of temps) backend.disposeData(temp.dataId);
  return out;
}
