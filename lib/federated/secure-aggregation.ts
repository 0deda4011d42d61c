import { createCipheriv, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * Secure aggregation by pairwise additive masks (Bonawitz et al. 2017, without the secret sharing
 * that recovers from sites dropping out mid-round: every participant must deliver). Each pair of
 * sites agrees on a key by X25519; the site with the smaller name adds the pair's mask stream and
 * the other subtracts it, so the coordinator, which sees only masked vectors, learns nothing but
 * their sum, where every mask cancels exactly (arithmetic mod 2^32 on fixed-point values).
 *
 * A pair's mask depends on the run, the round and the two keys only: mask one vector per site per
 * round (concatenate what must be summed), since a second vector under the same mask would leak
 * the difference of the two.
 */

/** Fractional bits of the fixed-point encoding: a resolution of 2^-20 ≈ 1e-6. */
export const FIXED_POINT_BITS = 20;
/** Bits kept free above each value so a sum over up to 2^4 = 16 sites cannot wrap around int32. */
export const HEADROOM_BITS = 4;
export const MAX_SITES = 2 ** HEADROOM_BITS;
const SCALE = 2 ** FIXED_POINT_BITS;
/** |value| must stay below 2^(31 − 20 − 4) = 128. */
export const FIXED_POINT_LIMIT = 2 ** (31 - FIXED_POINT_BITS - HEADROOM_BITS);

// DER headers for raw X25519 keys (RFC 8410): PKCS#8 private key, SubjectPublicKeyInfo public key.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** An X25519 key pair derived from a 32-byte seed, so a site's key is reproducible from its secret seed. */
export function siteKeyPair(seed: Buffer): { publicKey: string; privateKey: KeyObject } {
  if (seed.length !== 32) throw new Error(`siteKeyPair needs a 32-byte seed, not ${seed.length} bytes`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return { publicKey: rawPublicKey(privateKey), privateKey };
}

function rawPublicKey(privateKey: KeyObject): string {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_X25519_PREFIX.length).toString('base64');
}

/** The X25519 shared secret with another site; both sides of a pair get the same bytes. */
export function pairSecret(privateKey: KeyObject, theirPublicKey: string): Buffer {
  const raw = Buffer.from(theirPublicKey, 'base64');
  if (raw.length !== 32) throw new Error(`an X25519 public key is 32 bytes, not ${raw.length} (${JSON.stringify(theirPublicKey)})`);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: 'der', type: 'spki' });
  let secret: Buffer;
  try {
    secret = diffieHellman({ privateKey, publicKey });
  } catch (err) {
    // OpenSSL refuses low-order points, whose all-zero secret anyone could compute (RFC 7748 §6.1).
    throw new Error(`the public key ${theirPublicKey} is not a valid site key: ${(err as Error).message}`, { cause: err });
  }
  if (secret.every((b) => b === 0)) throw new Error(`the public key ${theirPublicKey} gives an all-zero shared secret; it is not a valid site key`);
  return secret;
}

/** round(x·2^20) mod 2^32 per value; refuses values that could wrap around once summed over 16 sites. */
export function encodeFixedPoint(values: Float32Array | Float64Array, site: string): Uint32Array {
  const out = new Uint32Array(values.length);
  for (let j = 0; j < values.length; j++) {
    const value = values[j]!;
    const fixed = Math.round(value * SCALE);
    // Checked after rounding, so 16 × the largest magnitude still fits in int32.
    if (!(Math.abs(fixed) < FIXED_POINT_LIMIT * SCALE))
      throw new Error(
        `site "${site}" has ${value} at weight ${j}; secure aggregation's fixed point (${FIXED_POINT_BITS} fractional bits, ` +
          `${HEADROOM_BITS} bits of headroom for sums over up to ${MAX_SITES} sites) holds values below ${FIXED_POINT_LIMIT} in magnitude: clip the update first`,
      );
    out[j] = fixed >>> 0;
  }
  return out;
}

/** A sum of encoded vectors back to numbers: each word as an int32, over 2^20. */
export function decodeFixedPoint(sum: Uint32Array): Float64Array {
  const signed = new Int32Array(sum.buffer, sum.byteOffset, sum.length);
  const out = new Float64Array(sum.length);
  for (let j = 0; j < sum.length; j++) out[j] = signed[j]! / SCALE;
  return out;
}

/**
 * `length` uint32 words of AES-256-CTR keystream keyed by HKDF-SHA256(pair secret, salt = run id,
 * info = "round r attempt a"): a round run again among fewer sites masks with fresh streams.
 */
function maskStream(secret: Buffer, runId: string, round: number, attempt: number, length: number): DataView {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.from(runId, 'utf8'), Buffer.from(`round ${round} attempt ${attempt}`, 'utf8'), 32));
  return keystream(key, length);
}

function keystream(key: Buffer, length: number): DataView {
  // A zero IV is safe: each key encrypts exactly one stream.
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const stream = Buffer.concat([cipher.update(Buffer.alloc(length * 4)), cipher.final()]);
  return new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
}

/**
 * A site's self mask (Bonawitz et al.'s double masking): a keystream from a 32-byte seed the site
 * reveals only once every participant's masked vector is in. A masked vector that arrives after its
 * round was abandoned stays hidden behind it, so the sum of an abandoned attempt and that of its
 * re-run cannot be combined into one site's update.
 */
export function selfMask(seed: Buffer, length: number): Uint32Array {
  if (seed.length !== 32) throw new Error(`a self-mask seed is 32 bytes, not ${seed.length}`);
  const stream = keystream(seed, length);
  const out = new Uint32Array(length);
  for (let j = 0; j < length; j++) out[j] = stream.getUint32(j * 4, true);
  return out;
}

/** The sum with the participants' revealed self masks taken out (mod 2^32). */
export function removeSelfMasks(sum: Uint32Array, seeds: readonly Buffer[]): Uint32Array {
  const out = new Uint32Array(sum);
  for (const seed of seeds) {
    const mask = selfMask(seed, out.length);
    for (let j = 0; j < out.length; j++) out[j] = out[j]! - mask[j]!;
  }
  return out;
}

/**
 * `encoded` plus, for every other participant j, the pair's mask (mod 2^32): added when me < j by
 * string comparison of site names, subtracted when me > j. The order of `participants` does not
 * matter. Words are read little-endian so sites on any platform agree.
 */
export function maskVector({
  encoded,
  me,
  participants,
  privateKey,
  round,
  attempt = 0,
  runId,
  selfMaskSeed,
}: {
  encoded: Uint32Array;
  me: string;
  participants: ReadonlyArray<{ site: string; publicKey: string }>;
  privateKey: KeyObject;
  round: number;
  /** The round's attempt: a round run again among fewer sites is attempt 1, 2, … */
  attempt?: number;
  runId: string;
  /** With double masking: the seed of this site's self mask for this round and attempt. */
  selfMaskSeed?: Buffer;
}): Uint32Array {
  const names = new Set<string>();
  for (const p of participants) {
    if (names.has(p.site)) throw new Error(`site "${p.site}" is listed twice among the participants of round ${round}`);
    names.add(p.site);
  }
  const self = participants.find((p) => p.site === me);
  if (!self) throw new Error(`site "${me}" is not among the participants of round ${round}`);
  if (participants.length > MAX_SITES)
    throw new Error(`secure aggregation sums at most ${MAX_SITES} sites (the fixed point's headroom), not ${participants.length}`);
  if (self.publicKey !== rawPublicKey(privateKey)) throw new Error(`site "${me}"'s private key does not match the public key listed for it`);
  const out = new Uint32Array(encoded);
  if (selfMaskSeed) {
    const mask = selfMask(selfMaskSeed, out.length);
    for (let j = 0; j < out.length; j++) out[j] = out[j]! + mask[j]!;
  }
  for (const other of participants) {
    if (other.site === me) continue;
    const mask = maskStream(pairSecret(privateKey, other.publicKey), runId, round, attempt, out.length);
    if (me < other.site) for (let j = 0; j < out.length; j++) out[j] = out[j]! + mask.getUint32(j * 4, true);
    else for (let j = 0; j < out.length; j++) out[j] = out[j]! - mask.getUint32(j * 4, true);
  }
  return out;
}

/** Word-wise sum mod 2^32. */
export function sumVectors(vectors: readonly Uint32Array[]): Uint32Array {
  if (vectors.length === 0) throw new Error('sumVectors needs at least one vector');
  const length = vectors[0]!.length;
  const out = new Uint32Array(length);
  for (const [i, v] of vectors.entries()) {
    if (v.length !== length) throw new Error(`vector ${i} has ${v.length} words but vector 0 has ${length}`);
    for (let j = 0; j < length; j++) out[j] = out[j]! + v[j]!;
  }
  return out;
}
