import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes bench/results/<name>.json with the machine it ran on (and a copy into `alsoTo`, for a
 * run on a remote machine whose bench/results does not come back).
 */
export async function recordResult(name: string, result: Record<string, unknown>, alsoTo?: string): Promise<void> {
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  const record = {
    name,
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    result,
  };
  for (const target of alsoTo ? [dir, alsoTo] : [dir]) {
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, `${name}.json`), JSON.stringify(record, null, 2) + '\n');
    console.log(`wrote ${path.join(target, `${name}.json`)}`);
  }
}
