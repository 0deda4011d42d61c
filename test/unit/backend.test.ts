import { initBackend } from '../../lib/models/backend';

/** Backend selection on a machine without a GPU or native libtensorflow (CI's and the dev box's). */
describe('initBackend', () => {
  const saved = process.env.PIPEWRIGHT_TF_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.PIPEWRIGHT_TF_BACKEND;
    else process.env.PIPEWRIGHT_TF_BACKEND = saved;
  });

  test('auto falls through native and WebGPU to wasm', async () => {
    delete process.env.PIPEWRIGHT_TF_BACKEND;
    expect(await initBackend()).toBe('wasm');
    expect(await initBackend('auto', { batchSize: 65_536 })).toBe('wasm');
  });

  test('naming a backend that cannot load is an error that says what to install', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node loads; install one/);
  });

  test('an unknown PIPEWRIGHT_TF_BACKEND stops backend selection with the valid ones listed', async () => {
    process.env.PIPEWRIGHT_TF_BACKEND = 'cuda';
    await expect(initBackend()).rejects.toThrow('PIPEWRIGHT_TF_BACKEND=cuda is not one of auto, tensorflow, webgpu, wasm, cpu.');
  });

  test('cpu can be chosen explicitly', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
  });
});
