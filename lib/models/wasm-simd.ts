/**
 * Three SIMD loops, as a hand-assembled WebAssembly module that works directly on the memory of
 * tfjs-backend-wasm (it imports that module's exported WebAssembly.Memory), for the sparse kernels:
 *
 *   axpy(dst, src, n, a)          dst[i] += a · src[i]               (i < n; byte addresses)
 *   maskPositive(dst, src, ref, n) dst[i] = ref[i] > 0 ? src[i] : 0
 *   adam(xo, mo, vo, x, g, m, v, n, beta1, 1-beta1, beta2, 1-beta2, -lr, 1-beta1^t, 1-beta2^t, eps)
 *       mo = m·β1 + g·(1-β1); vo = v·β2 + g²·(1-β2);
 *       xo = x + (mo/c1) / (√(vo/c2) + ε) · (-lr), in float32 as tf.train.adam's ops
 *
 * In JavaScript the same loops cost ~3 ns per element on this class of machine (float32 loads and
 * stores with conversions and bounds checks); with f32x4 the sparse product's gradient ran 8x
 * faster (1024 rows x 6 pairs x 64 units: 1.1 ms of CPU in JavaScript, 0.14 ms here). The sparse
 * product, its gradient, relu masks, bias sums and Adam's update are made of them. Element order within a call is fixed and lanes
 * are independent, so sums are deterministic. Node 20's V8 runs wasm SIMD; where the module cannot
 * be built or the backend's memory is not reachable, callers use their JavaScript loops.
 */

export interface SimdLoops {
  axpy(dst: number, src: number, n: number, a: number): void;
  maskPositive(dst: number, src: number, ref: number, n: number): void;
  adam(
    xo: number,
    mo: number,
    vo: number,
    x: number,
    g: number,
    m: number,
    v: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    negLearningRate: number,
    correction1: number,
    correction2: number,
    epsilon: number,
  ): void;
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

// Opcodes used below.
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const F32_CONST = 0x43;
const I32_ADD = 0x6a;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const F32_LOAD = 0x2a;
const F32_STORE = 0x38;
const F32_ADD = 0x92;
const F32_MUL = 0x94;
const F32_GT = 0x5e;
const SELECT = 0x1b;
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const VOID = 0x40;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const V128_STORE = [SIMD, 0x0b];
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_GT = [SIMD, 0x44];
const V128_AND = [SIMD, 0x4e];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const F32X4_DIV = [SIMD, 0xe7, 0x01];
const F32X4_SQRT = [SIMD, 0xe3, 0x01];
const F32_DIV = 0x95;
const F32_SQRT = 0x91;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const get = (i: number): number[] => [LOCAL_GET, i];
const set = (i: number): number[] => [LOCAL_SET, i];
/** Byte address base + (i << 2). */
const addr = (base: number, i: number): number[] => [...get(base), ...get(i), I32_CONST, 2, I32_SHL, I32_ADD];
const memarg = (align: number): number[] => [align, 0];
/** i += step */
const bump = (i: number, step: number): number[] => [...get(i), I32_CONST, ...sleb(step), I32_ADD, ...set(i)];
/** block { loop { if (i >=u limit) break; body; continue } } */
const whileBelow = (i: number, limit: number, body: number[]): number[] => [
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...get(i),
  ...get(limit),
  I32_GE_U,
  BR_IF,
  1,
  ...body,
  BR,
  0,
  END,
  END,
];

function axpyBody(): number[] {
  // params: dst 0, src 1, n 2, a 3 (f32); locals: i 4, end4 5 (i32), va 6 (v128)
  const [dst, src, n, a, i, end4, va] = [0, 1, 2, 3, 4, 5, 6];
  const code = [
    ...get(a),
    ...F32X4_SPLAT,
    ...set(va),
    ...get(n),
    I32_CONST,
    ...sleb(-4),
    I32_AND,
    ...set(end4),
    ...whileBelow(i, end4, [
      ...addr(dst, i),
      ...addr(dst, i),
      ...V128_LOAD,
      ...memarg(0),
      ...addr(src, i),
      ...V128_LOAD,
      ...memarg(0),
      ...get(va),
      ...F32X4_MUL,
      ...F32X4_ADD,
      ...V128_STORE,
      ...memarg(0),
      ...bump(i, 4),
    ]),
    ...whileBelow(i, n, [
      ...addr(dst, i),
      ...addr(dst, i),
      F32_LOAD,
      ...memarg(2),
      ...addr(src, i),
      F32_LOAD,
      ...memarg(2),
      ...get(a),
      F32_MUL,
      F32_ADD,
      F32_STORE,
      ...memarg(2),
      ...bump(i, 1),
    ]),
    END,
  ];
  const locals = vec([
    [2, I32],
    [1, V128],
  ]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function maskPositiveBody(): number[] {
  // params: dst 0, src 1, ref 2, n 3; locals: i 4, end4 5 (i32), zero 6 (v128, starts at 0)
  const [dst, src, ref, n, i, end4, zero] = [0, 1, 2, 3, 4, 5, 6];
  const code = [
    ...get(n),
    I32_CONST,
    ...sleb(-4),
    I32_AND,
    ...set(end4),
    ...whileBelow(i, end4, [
      ...addr(dst, i),
      ...addr(src, i),
      ...V128_LOAD,
      ...memarg(0),
      ...addr(ref, i),
      ...V128_LOAD,
      ...memarg(0),
      ...get(zero),
      ...F32X4_GT,
      ...V128_AND,
      ...V128_STORE,
      ...memarg(0),
      ...bump(i, 4),
    ]),
    ...whileBelow(i, n, [
      ...addr(dst, i),
      ...addr(src, i),
      F32_LOAD,
      ...memarg(2),
      F32_CONST,
      0,
      0,
      0,
      0,
      ...addr(ref, i),
      F32_LOAD,
      ...memarg(2),
      F32_CONST,
      0,
      0,
      0,
      0,
      F32_GT,
      SELECT,
      F32_STORE,
      ...memarg(2),
      ...bump(i, 1),
    ]),
    END,
  ];
  const locals = vec([
    [2, I32],
    [1, V128],
  ]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function adamBody(): number[] {
  // params: xo 0, mo 1, vo 2, x 3, g 4, m 5, v 6, n 7 (i32); b1 8, c1 9, b2 10, c2 11, nlr 12, k1 13, k2 14, eps 15 (f32)
  // locals: i 16, end4 17 (i32); vectors of the eight scalars 18..25 (v128); gi 26, mi 27, vi 28 (v128 temporaries)
  const [xo, mo, vo, x, g, m, v, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, end4] = [16, 17];
  const scalar = (k: number): number => 8 + k; // b1, c1, b2, c2, nlr, k1, k2, eps
  const vector = (k: number): number => 18 + k;
  const [gi, mi, vi] = [26, 27, 28];
  const splats = Array.from({ length: 8 }, (_, k) => [...get(scalar(k)), ...F32X4_SPLAT, ...set(vector(k))]).flat();
  const B1 = 0,
    C1 = 1,
    B2 = 2,
    C2 = 3,
    NLR = 4,
    K1 = 5,
    K2 = 6,
    EPS = 7;
  const vload = (base: number): number[] => [...addr(base, i), ...V128_LOAD, ...memarg(0)];
  const simd = [
    ...vload(g),
    ...set(gi),
    // mi = m·b1 + g·c1
    ...vload(m),
    ...get(vector(B1)),
    ...F32X4_MUL,
    ...get(gi),
    ...get(vector(C1)),
    ...F32X4_MUL,
    ...F32X4_ADD,
    ...set(mi),
    // vi = v·b2 + (g·g)·c2
    ...vload(v),
    ...get(vector(B2)),
    ...F32X4_MUL,
    ...get(gi),
    ...get(gi),
    ...F32X4_MUL,
    ...get(vector(C2)),
    ...F32X4_MUL,
    ...F32X4_ADD,
    ...set(vi),
    ...addr(mo, i),
    ...get(mi),
    ...V128_STORE,
    ...memarg(0),
    ...addr(vo, i),
    ...get(vi),
    ...V128_STORE,
    ...memarg(0),
    // xo = x + (mi/k1) / (sqrt(vi/k2) + eps) · nlr
    ...addr(xo, i),
    ...vload(x),
    ...get(mi),
    ...get(vector(K1)),
    ...F32X4_DIV,
    ...get(vi),
    ...get(vector(K2)),
    ...F32X4_DIV,
    ...F32X4_SQRT,
    ...get(vector(EPS)),
    ...F32X4_ADD,
    ...F32X4_DIV,
    ...get(vector(NLR)),
    ...F32X4_MUL,
    ...F32X4_ADD,
    ...V128_STORE,
    ...memarg(0),
    ...bump(i, 4),
  ];
  const [gs, ms, vs] = [29, 30, 31]; // f32 temporaries
  const fload = (base: number): number[] => [...addr(base, i), F32_LOAD, ...memarg(2)];
  const tail = [
    ...fload(g),
    ...set(gs),
    ...fload(m),
    ...get(scalar(B1)),
    F32_MUL,
    ...get(gs),
    ...get(scalar(C1)),
    F32_MUL,
    F32_ADD,
    ...set(ms),
    ...fload(v),
    ...get(scalar(B2)),
    F32_MUL,
    ...get(gs),
    ...get(gs),
    F32_MUL,
    ...get(scalar(C2)),
    F32_MUL,
    F32_ADD,
    ...set(vs),
    ...addr(mo, i),
    ...get(ms),
    F32_STORE,
    ...memarg(2),
    ...addr(vo, i),
    ...get(vs),
    F32_STORE,
    ...memarg(2),
    ...addr(xo, i),
    ...fload(x),
    ...get(ms),
    ...get(scalar(K1)),
    F32_DIV,
    ...get(vs),
    ...get(scalar(K2)),
    F32_DIV,
    F32_SQRT,
    ...get(scalar(EPS)),
    F32_ADD,
    F32_DIV,
    ...get(scalar(NLR)),
    F32_MUL,
    F32_ADD,
    F32_STORE,
    ...memarg(2),
    ...bump(i, 1),
  ];
  const code = [...splats, ...get(n), I32_CONST, ...sleb(-4), I32_AND, ...set(end4), ...whileBelow(i, end4, simd), ...whileBelow(i, n, tail), END];
  const locals = vec([
    [2, I32],
    [11, V128],
    [3, F32],
  ]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [F32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([])],
    [0x60, ...vec([...Array.from({ length: 8 }, () => [I32]), ...Array.from({ length: 8 }, () => [F32])]), ...vec([])],
  ]);
  // (import "env" "memory" (memory 0)): any memory of at least 0 pages, not shared.
  const imports = vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]]);
  const functions = vec([[0], [1], [2]]);
  const exports = vec([
    [...name('axpy'), 0x00, 0],
    [...name('maskPositive'), 0x00, 1],
    [...name('adam'), 0x00, 2],
  ]);
  const code = vec([axpyBody(), maskPositiveBody(), adamBody()]);
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, functions),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

// The slice of the WebAssembly API used here (the project compiles without the DOM typings).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
const instances = new WeakMap<WasmMemory, SimdLoops | null>();

/** The loops over `memory`, or null where wasm SIMD is unavailable. */
export function simdLoopsFor(memory: WasmMemory): SimdLoops | null {
  if (instances.has(memory)) return instances.get(memory)!;
  let loops: SimdLoops | null = null;
  try {
    if (compiled === undefined) compiled = new WASM.Module(moduleBytes());
    if (compiled !== null) {
      const instance = new WASM.Instance(compiled, { env: { memory } });
      loops = instance.exports as unknown as SimdLoops;
    }
  } catch {
    compiled = null;
  }
  instances.set(memory, loops);
  return loops;
}

/** The WebAssembly.Memory of a tfjs-backend-wasm backend object, where it exposes it. */
export function wasmBackendMemory(backend: unknown): WasmMemory | null {
  const wasm = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  return memory instanceof WASM.Memory ? memory : null;
}
