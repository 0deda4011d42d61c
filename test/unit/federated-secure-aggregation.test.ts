import { createHash } from 'node:crypto';
import { decodeFixedPoint, encodeFixedPoint, FIXED_POINT_BITS, maskVector, pairSecret, siteKeyPair, sumVectors } from '../../lib/federated/secure-aggregation';
import { mulberry32 } from '../../lib/random';

const seedFor = (site: string): Buffer => createHash('sha256').update(`test seed for ${site}`).digest();

interface Site {
  site: string;
  publicKey: string;
  privateKey: ReturnType<typeof siteKeyPair>['privateKey'];
  values: Float32Array;
}

function makeSites(names: string[], length: number, seed: number): Site[] {
  const random = mulberry32(seed);
  return names.map((site) => ({ site, ...siteKeyPair(seedFor(site)), values: Float32Array.from({ length }, () => (random() - 0.5) * 20) }));
}

function masked(sites: Site[], round = 3, runId = 'run-abc'): Uint32Array[] {
  const participants = sites.map(({ site, publicKey }) => ({ site, publicKey }));
  return sites.map((s) => maskVector({ encoded: encodeFixedPoint(s.values, s.site), me: s.site, participants, privateKey: s.privateKey, round, runId }));
}

describe('keys', () => {
  // RFC 7748 §6.1 test vectors (Alice and Bob).
  test('siteKeyPair and pairSecret reproduce RFC 7748', () => {
    const alice = siteKeyPair(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'));
    const bob = siteKeyPair(Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex'));
    expect(Buffer.from(alice.publicKey, 'base64').toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(Buffer.from(bob.publicKey, 'base64').toString('hex')).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(pairSecret(alice.privateKey, bob.publicKey).toString('hex')).toBe(shared);
    expect(pairSecret(bob.privateKey, alice.publicKey).toString('hex')).toBe(shared);
  });

  test('deterministic per seed, different across seeds, symmetric secrets', () => {
    const a = siteKeyPair(seedFor('a'));
    expect(siteKeyPair(seedFor('a')).publicKey).toBe(a.publicKey);
    expect(Buffer.from(a.publicKey, 'base64')).toHaveLength(32);
    const b = siteKeyPair(seedFor('b'));
    expect(b.publicKey).not.toBe(a.publicKey);
    expect(pairSecret(a.privateKey, b.publicKey)).toEqual(pairSecret(b.privateKey, a.publicKey));
    expect(pairSecret(a.privateKey, b.publicKey)).not.toEqual(pairSecret(a.privateKey, siteKeyPair(seedFor('c')).publicKey));
  });

  test('refuses a short seed and a bad public key', () => {
    expect(() => siteKeyPair(Buffer.alloc(16))).toThrow('siteKeyPair needs a 32-byte seed, not 16 bytes');
    const a = siteKeyPair(seedFor('a'));
    expect(() => pairSecret(a.privateKey, Buffer.alloc(31).toString('base64'))).toThrow('an X25519 public key is 32 bytes, not 31');
    expect(() => pairSecret(a.privateKey, Buffer.alloc(32).toString('base64'))).toThrow('is not a valid site key');
  });
});

describe('fixed point', () => {
  test('round trip within 2^-21, negatives as two’s complement', () => {
    const values = Float64Array.of(0, 1, -1, -1.5, 127.99, -127.99, 1e-7, Math.PI);
    const encoded = encodeFixedPoint(values, 'a');
    expect(encoded[2]).toBe(2 ** 32 - 2 ** FIXED_POINT_BITS);
    const decoded = decodeFixedPoint(encoded);
    for (let j = 0; j < values.length; j++) expect(Math.abs(decoded[j]! - values[j]!)).toBeLessThanOrEqual(2 ** -21);
    expect(decoded[3]).toBe(-1.5);
  });

  test('a value that could overflow a 16-site sum names the site', () => {
    expect(() => encodeFixedPoint(Float32Array.of(0, 200), 'east')).toThrow(
      'site "east" has 200 at weight 1; secure aggregation\'s fixed point (20 fractional bits, 4 bits of headroom for sums over up to 16 sites) holds values below 128 in magnitude: clip the update first',
    );
    expect(() => encodeFixedPoint(Float32Array.of(-128), 'west')).toThrow('site "west" has -128 at weight 0');
    expect(() => encodeFixedPoint(Float32Array.of(NaN), 'west')).toThrow('site "west" has NaN at weight 0');
  });

  test('16 sites at the largest value still sum without wrapping', () => {
    const largest = encodeFixedPoint(Float64Array.of(128 - 2 ** -20, -(128 - 2 ** -20)), 'a');
    const sum = decodeFixedPoint(sumVectors(Array.from({ length: 16 }, () => largest)));
    expect(sum[0]).toBe(16 * (128 - 2 ** -20));
    expect(sum[1]).toBe(-16 * (128 - 2 ** -20));
  });
});

describe('maskVector', () => {
  for (const names of [
    ['west', 'east', 'north'],
    ['s1', 's5', 's3', 's2', 's4'],
  ]) {
    test(`${names.length} sites: the masks cancel exactly in the sum`, () => {
      const sites = makeSites(names, 1000, names.length);
      const sum = sumVectors(masked(sites));
      expect(sum).toEqual(sumVectors(sites.map((s) => encodeFixedPoint(s.values, s.site))));
      const decoded = decodeFixedPoint(sum);
      for (let j = 0; j < 1000; j++) {
        const exact = sites.reduce((n, s) => n + s.values[j]!, 0);
        expect(Math.abs(decoded[j]! - exact)).toBeLessThanOrEqual(names.length * 2 ** -21);
      }
    });
  }

  test('a single masked vector looks uniform and hides its values', () => {
    const sites = makeSites(['a', 'b', 'c'], 4096, 11);
    const [first] = masked(sites);
    const plain = encodeFixedPoint(sites[0]!.values, 'a');
    expect(first).not.toEqual(plain);
    let same = 0;
    let sum = 0;
    for (let j = 0; j < first!.length; j++) {
      if (first![j] === plain[j]) same++;
      sum += first![j]!;
    }
    expect(same).toBeLessThan(3);
    // Uniform words have mean 2^31, with a standard error of about 0.9% of that over 4096 words.
    expect(Math.abs(sum / first!.length / 2 ** 31 - 1)).toBeLessThan(0.05);
  });

  test('participants order does not matter; round and run change the masks', () => {
    const sites = makeSites(['a', 'b', 'c', 'd'], 64, 5);
    const participants = sites.map(({ site, publicKey }) => ({ site, publicKey }));
    const encoded = encodeFixedPoint(sites[1]!.values, 'b');
    const mask = (list: typeof participants, round = 1, runId = 'r'): Uint32Array =>
      maskVector({ encoded, me: 'b', participants: list, privateKey: sites[1]!.privateKey, round, runId });
    expect(mask([...participants].reverse())).toEqual(mask(participants));
    expect(mask([participants[2]!, participants[0]!, participants[3]!, participants[1]!])).toEqual(mask(participants));
    expect(mask(participants, 2)).not.toEqual(mask(participants, 1));
    expect(mask(participants, 1, 'other run')).not.toEqual(mask(participants, 1));
    expect(encoded).toEqual(encodeFixedPoint(sites[1]!.values, 'b')); // not modified in place
  });

  test('refuses a site that is not a participant, a mismatched key, duplicates and more than 16 sites', () => {
    const sites = makeSites(['a', 'b'], 4, 1);
    const participants = sites.map(({ site, publicKey }) => ({ site, publicKey }));
    const encoded = new Uint32Array(4);
    const base = { encoded, participants, privateKey: sites[0]!.privateKey, round: 1, runId: 'r' };
    expect(() => maskVector({ ...base, me: 'z' })).toThrow('site "z" is not among the participants of round 1');
    expect(() => maskVector({ ...base, me: 'b' })).toThrow('site "b"\'s private key does not match the public key listed for it');
    expect(() => maskVector({ ...base, me: 'a', participants: [...participants, participants[1]!] })).toThrow('site "b" is listed twice');
    const many = Array.from({ length: 17 }, (_, i) => (i === 0 ? participants[0]! : { site: `x${i}`, publicKey: participants[1]!.publicKey }));
    expect(() => maskVector({ ...base, me: 'a', participants: many })).toThrow('secure aggregation sums at most 16 sites');
  });
});

describe('sumVectors', () => {
  test('word-wise mod 2^32', () => {
    expect(sumVectors([Uint32Array.of(2 ** 32 - 1, 5), Uint32Array.of(2, 7)])).toEqual(Uint32Array.of(1, 12));
    expect(() => sumVectors([new Uint32Array(2), new Uint32Array(3)])).toThrow('vector 1 has 3 words but vector 0 has 2');
    expect(() => sumVectors([])).toThrow('at least one vector');
  });
});
