import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig, type TfBackendChoice } from '../config';
import { installSparseKernels } from './sparse-kernels';
import { installFastTransposedMatMul } from './wasm-matmul';

export type BackendChoice = TfBackendChoice;

export interface BackendHints {
  /** Rows per step. In auto, WebGPU is taken only from WEBGPU_MIN_AUTO_BATCH rows: below that wasm is faster. */
  batchSize?: number;
}

/**
 * Measured on an NVIDIA H200 (bench/results/train-backends-h200.json): for the flights MLP WebGPU
 * trained at 0.5x that host's wasm with batches of 4096, 1.5x with 16384 and 2.8x with 65536.
 */
export const WEBGPU_MIN_AUTO_BATCH = 16_384;

/**
 * Picks the TensorFlow.js backend. Native libtensorflow (tfjs-node-gpu, then tfjs-node) is used
 * when the user installed it and it loads; then WebGPU through Dawn (the optional `webgpu`
 * package), but only on a real GPU (a software adapter is slower than wasm) and for batches of
 * WEBGPU_MIN_AUTO_BATCH rows or more (below that, per-step overhead makes it slower); then the wasm
 * backend, which ships its binary in the npm package and so works on any machine; the pure-JS cpu
 * backend is the last resort. In `auto` a backend that fails to load is skipped, never fatal.
 * The chosen backend is recorded with every model.
 */
export async function initBackend(choice: BackendChoice = loadConfig().tfBackend, hints: BackendHints = {}): Promise<string> {
  if (choice === 'auto' || choice === 'tensorflow') {
    for (const native of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        // A synchronous require on purpose: these optional CommonJS packages register the
        // 'tensorflow' backend as they load, and a missing one must only fall through.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(native);
        if (await tf.setBackend('tensorflow')) return `tensorflow (${native})`;
      } catch {
        // Not installed, or its libtensorflow download never happened: fall through.
      }
    }
    if (choice === 'tensorflow')
      throw new Error(
        'PIPEWRIGHT_TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads; install one (it downloads libtensorflow) or use wasm.',
      );
  }
  // In auto, skip loading Dawn (21 MB, and it warns on stderr) where no GPU device node exists.
  const bigEnough = (hints.batchSize ?? WEBGPU_MIN_AUTO_BATCH) >= WEBGPU_MIN_AUTO_BATCH;
  if (choice === 'webgpu' || (choice === 'auto' && bigEnough && gpuDeviceVisible())) {
    try {
      return await initWebgpu();
    } catch (err) {
      if (choice === 'webgpu') throw err;
    }
  }
  if (choice === 'auto' || choice === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      installFastTransposedMatMul();
      installSparseKernels();
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch (err) {
      if (choice === 'wasm') throw err;
    }
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

function gpuDeviceVisible(): boolean {
  if (process.platform !== 'linux') return true; // Metal / D3D: let Dawn decide.
  if (existsSync('/dev/nvidiactl')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

// The slice of the WebGPU API used here; the project does not compile against the DOM/WebGPU types.
interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  info?: GpuAdapterInfo;
  isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>;
}

// Set up once per process: each create() starts a Dawn instance, and a failed probe stays failed.
let webgpuSetup: Promise<string> | undefined;

async function initWebgpu(): Promise<string> {
  const name = await (webgpuSetup ??= setUpWebgpu());
  if (!(await tf.setBackend('webgpu'))) throw new Error(`tfjs could not start its webgpu backend on ${name}`);
  await tf.ready();
  return name;
}

async function setUpWebgpu(): Promise<string> {
  // `webgpu` is an optional ES module. tsc (module nodenext) emits import() unchanged in our
  // CommonJS output, so this is a real ESM import; the specifier is a variable so a missing package
  // fails here at run time rather than at compile time, and bundlers leave it external (see
  // bench/device/make-bundle.sh, which ships it beside the bundle).
  const specifier = 'webgpu';
  const { create, globals } = (await import(specifier)) as { create(flags: string[]): Gpu; globals: object };
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('webgpu: no adapter (no GPU, or no Vulkan loader/driver: libvulkan.so.1 and an ICD)');
  const info = adapter.info ?? {};
  const label = info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  // Dawn reports CPU adapters (SwiftShader, lavapipe) as fallback adapters; the names are a backstop.
  const software = /swiftshader|llvmpipe|lavapipe|softpipe|software/i.test(`${label} ${info.vendor} ${info.architecture}`);
  if (adapter.isFallbackAdapter || info.isFallbackAdapter || software) {
    throw new Error(`webgpu: only a software adapter (${label}); wasm is faster`);
  }
  // tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is first imported, and
  // then asks it for an adapter: hand it the one vetted above.
  Object.assign(globalThis, globals);
  // Dawn lives, and keeps the event loop alive, as long as `dawn` is referenced: a short-lived
  // process on webgpu has to exit explicitly.
  const vetted = { dawn: gpu, requestAdapter: async () => adapter };
  // Node >= 21 has a navigator object on globalThis; Node 20 has none.
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(nav, 'gpu', { value: vetted, configurable: true });
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  return `webgpu (${label})`;
}
