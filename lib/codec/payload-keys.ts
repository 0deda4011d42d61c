import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PayloadKeySetting } from '../config';

/** One AES-256 key and the id written beside every payload it encrypts, so keys can rotate. */
export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** The keys a process may decrypt with; the first one encrypts. */
export interface PayloadKeyRing {
  active: PayloadKey;
  byId: ReadonlyMap<string, PayloadKey>;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses `id:base64key` entries separated by commas or new lines (`#` starts a comment in a key
 * file). The first entry encrypts; the rest are kept to decrypt what older keys wrote. Every
 * problem names the setting and the entry, never the key material.
 */
export function parsePayloadKeys(text: string, source: string): PayloadKeyRing {
  const entries = text
    .split(/[,\n]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error(`${source} holds no key; give at least one \`id:base64key\` entry (\`pipewright keys generate\` prints one).`);
  const byId = new Map<string, PayloadKey>();
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon).trim();
    const encoded = colon < 0 ? '' : entry.slice(colon + 1).trim();
    const where = `${source}: entry ${i + 1}`;
    if (!KEY_ID.test(id)) throw new Error(`${where} has no valid key id before ':' (1-64 letters, digits, '.', '_' or '-'); write it as \`id:base64key\`.`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, ''))
      throw new Error(
        `${where} (key id "${id}") is not a base64-encoded 32-byte AES-256 key (it decodes to ${key.length} bytes); \`pipewright keys generate\` prints one.`,
      );
    if (byId.has(id)) throw new Error(`${where} repeats key id "${id}"; every key needs its own id.`);
    byId.set(id, { id, key });
  }
  return { active: byId.values().next().value!, byId };
}

/** The key ring a setting names: the list itself, or the file that holds one. */
export function loadPayloadKeys(setting: PayloadKeySetting): PayloadKeyRing {
  if (setting.source === 'PIPEWRIGHT_PAYLOAD_KEYS') return parsePayloadKeys(setting.value, setting.source);
  let text: string;
  try {
    text = readFileSync(setting.value, 'utf8');
  } catch (err) {
    throw new Error(
      `PIPEWRIGHT_PAYLOAD_KEY_FILE=${setting.value} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at a key file or unset it.`,
      {
        cause: err,
      },
    );
  }
  return parsePayloadKeys(text, `PIPEWRIGHT_PAYLOAD_KEY_FILE=${setting.value}`);
}

/** A new `id:base64key` entry: 32 random bytes, under an id that says when it was made. */
export function generatePayloadKey(now = new Date()): string {
  const id = `k${now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex')}`;
  return `${id}:${randomBytes(32).toString('base64')}`;
}
