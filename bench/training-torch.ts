import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The PyTorch baseline of bench/training.ts: bench/pytorch/train_flights.py in the venv that
 * bench/pytorch/setup.sh makes, on the same encoded shards (its training-data.json manifest).
 */

export interface TorchEpoch {
  epoch: number;
  trainSeconds: number;
  trainSamplesPerSec: number;
  windowSamplesPerSec: { best: number; p10: number; median: number; windows: number } | null;
  trainCpuSeconds: number;
  loadAverage: number;
  meanTrainLoss: number;
  testAuc: number;
}

export interface TorchRun {
  model: string;
  hidden: number[];
  batch: number;
  lr: number;
  trainRows: number;
  epochs: TorchEpoch[];
}

export interface TorchResult {
  torch: string;
  threads: number;
  inputDim: number;
  rows: number;
  loadSeconds: number;
  runs: TorchRun[];
}

export function torchVenvPython(): string {
  const venv = process.env.TORCH_VENV ?? path.join(os.homedir(), '.cache', 'pipewright', 'torch-venv');
  return path.join(venv, 'bin', 'python');
}

export function torchAvailable(): boolean {
  return existsSync(torchVenvPython());
}

export interface TorchOptions {
  manifest: string;
  models: string[];
  hidden: number[];
  epochs: number;
  batch: number;
  lr: number;
  threads: number;
  seed: number;
  timeoutS: number;
}

/** Runs train_flights.py once; its progress goes to stderr, its JSON comes back. */
export function runTorch(options: TorchOptions): Promise<TorchResult> {
  const script = path.join(__dirname, '..', '..', 'bench', 'pytorch', 'train_flights.py');
  const args = [
    script,
    '--data',
    options.manifest,
    '--models',
    options.models.join(','),
    '--hidden',
    options.hidden.join(','),
    '--epochs',
    String(options.epochs),
    '--batch',
    String(options.batch),
    '--lr',
    String(options.lr),
    '--threads',
    String(options.threads),
    '--seed',
    String(options.seed),
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn(torchVenvPython(), args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => (stdout += chunk));
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutS * 1000);
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`train_flights.py exited (code ${code}, signal ${signal})${signal === 'SIGKILL' ? ` after ${options.timeoutS} s` : ''}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as TorchResult);
      } catch (err) {
        reject(new Error(`train_flights.py printed no JSON: ${(err as Error).message}`));
      }
    });
  });
}
