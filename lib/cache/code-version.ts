import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Compiled (.js) or source (.ts) modules, not maps or declarations. */
const CODE_FILE = /(?<!\.d)\.(js|ts)$/;

function codeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...codeFiles(full));
    else if (CODE_FILE.test(entry.name)) out.push(full);
  }
  return out;
}

let version: string | undefined;

/**
 * A hash of the code that computes step results: every module under lib/ and activities/ as this
 * process runs them (dist/ in production, the sources under jest). Any change to it is a new
 * version, so the step cache never hands a result of other code to a run.
 */
export function codeVersion(): string {
  if (version !== undefined) return version;
  const root = path.join(__dirname, '..', '..');
  const hash = createHash('sha256');
  for (const dir of ['lib', 'activities']) {
    for (const file of codeFiles(path.join(root, dir)).sort()) {
      hash.update(path.relative(root, file).split(path.sep).join('/'));
      hash.update('\0');
      hash.update(readFileSync(file));
    }
  }
  version = hash.digest('hex').slice(0, 16);
  return version;
}
