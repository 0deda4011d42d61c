import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { PayloadKeyRing } from './payload-keys';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What sealing produced: which key, and iv ‖ ciphertext ‖ tag. */
export interface Sealed {
  keyId: string;
  bytes: Uint8Array;
}

/** A payload that cannot be opened: unknown key id, wrong key, or bytes altered in storage. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/**
 * AES-256-GCM with the ring's active key and a fresh random 96-bit IV per message. The key id is
 * bound as associated data, so a payload relabelled with another id fails authentication.
 */
export function seal(ring: PayloadKeyRing, plaintext: Uint8Array): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ring.active.key, iv);
  cipher.setAAD(Buffer.from(ring.active.id, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { keyId: ring.active.id, bytes: Buffer.concat([iv, body, cipher.getAuthTag()]) };
}

export function open(ring: PayloadKeyRing, sealed: Sealed): Buffer {
  const key = ring.byId.get(sealed.keyId);
  if (!key)
    throw new PayloadDecryptionError(
      `payload was encrypted with key id "${sealed.keyId}", which this process does not have (it has ${[...ring.byId.keys()].map((k) => `"${k}"`).join(', ')}); ` +
        'add that key to PIPEWRIGHT_PAYLOAD_KEYS (or the key file) after the active one.',
    );
  if (sealed.bytes.length < IV_BYTES + TAG_BYTES)
    throw new PayloadDecryptionError(`encrypted payload is ${sealed.bytes.length} bytes, too short to hold an IV and a tag.`);
  const bytes = Buffer.from(sealed.bytes.buffer, sealed.bytes.byteOffset, sealed.bytes.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(sealed.keyId, 'utf8'));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new PayloadDecryptionError(
      `payload under key id "${sealed.keyId}" failed authentication: the key with that id is not the one it was written with, or the bytes were altered.`,
      {
        cause: err,
      },
    );
  }
}
