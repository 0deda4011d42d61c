import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Writes bench/results/<name>.json with the machine it ran on. */
export async function recordResult(name: string, result: Record<string, unknown>): Promise<void> {
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const record = {
    name,
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    result,
  };
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote bench/results/${name}.json`);
}
