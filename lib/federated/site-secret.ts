import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The secret a site's secure-aggregation keys derive from: PIPEWRIGHT_SITE_SECRET, or one made
 * once and kept (0600) under the site's home, so a restarted site re-derives the same key pair
 * for a run in flight and its masks still cancel with the others'.
 */
export function loadSiteSecret(configured: string | undefined, home: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const file = path.join(home, 'site-secret');
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(home, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process of this site made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
}

/** The 32-byte seed of the site's key pair for one run (hex): HMAC-SHA256(secret, run id). */
export function runKeySeed(secret: Buffer, runId: string): string {
  return createHmac('sha256', secret).update(`pipewright secure aggregation ${runId}`).digest('hex');
}

/** The seed of a site's self mask for one round and attempt (32 bytes, hex), from its key seed: the same on a retry. */
export function selfMaskSeed(keySeed: string, round: number, attempt: number): string {
  return createHmac('sha256', Buffer.from(keySeed, 'hex')).update(`self mask round ${round} attempt ${attempt}`).digest('hex');
}
