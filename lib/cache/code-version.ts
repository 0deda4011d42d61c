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

/** The release a process runs: package.json's version, and the git commit where the code is a checkout. */
export interface CodeRelease {
  packageVersion: string;
  /** HEAD's commit, when the project root is a git checkout (read from .git, no git binary needed). */
  gitCommit: string | undefined;
}

let release: CodeRelease | undefined;

export function codeRelease(): CodeRelease {
  if (release !== undefined) return release;
  const root = path.join(__dirname, '..', '..');
  // dist/ sits one level deeper than the sources: find the package.json that names pipewright.
  const packageDir = [root, path.join(root, '..')].find((dir) => {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'pipewright';
    } catch {
      return false;
    }
  });
  const packageVersion = packageDir ? (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version : 'unknown';
  release = { packageVersion, gitCommit: packageDir ? headCommit(path.join(packageDir, '.git')) : undefined };
  return release;
}

/** HEAD's commit from a .git directory: a detached hash, a loose ref, or a packed one. */
export function headCommit(gitDir: string): string | undefined {
  try {
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    try {
      return readFileSync(path.join(gitDir, ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(path.join(gitDir, 'packed-refs'), 'utf8');
      return packed
        .split('\n')
        .find((line) => line.endsWith(` ${ref}`))
        ?.slice(0, 40);
    }
  } catch {
    return undefined;
  }
}
