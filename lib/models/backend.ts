import * as tf from '@tensorflow/tfjs-core';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/**
 * Picks the TensorFlow.js backend. Native libtensorflow (tfjs-node-gpu, then tfjs-node) is used
 * when the user installed it and it loads; otherwise the wasm backend, which ships its binary in
 * the npm package and so works on any machine; the pure-JS cpu backend is the last resort.
 * The chosen backend is recorded with every model.
 */
export async function initBackend(choice: BackendChoice = backendFromEnv()): Promise<string> {
  if (choice === 'auto' || choice === 'tensorflow') {
    for (const native of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        require(native);
        if (await tf.setBackend('tensorflow')) return `tensorflow (${native})`;
      } catch {
        // Not installed, or its libtensorflow download never happened: fall through.
      }
    }
    if (choice === 'tensorflow') throw new Error('PIPEWRIGHT_TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads; install one (it downloads libtensorflow) or use wasm.');
  }
  if (choice === 'auto' || choice === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
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

function backendFromEnv(): BackendChoice {
  const raw = process.env.PIPEWRIGHT_TF_BACKEND ?? 'auto';
  if (raw === 'auto' || raw === 'tensorflow' || raw === 'wasm' || raw === 'cpu') return raw;
  throw new Error(`PIPEWRIGHT_TF_BACKEND=${raw} is not one of auto, tensorflow, wasm, cpu.`);
}
