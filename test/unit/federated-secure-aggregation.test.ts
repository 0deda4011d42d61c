import { createHash } from 'node:crypto';
import {
  decodeFixedPoint,
  encodeFixedPoint,
  FIXED_POINT_BITS,
  maskVector,
  pairSecret,
  removeSelfMasks,
  selfMask,
  siteKeyPair,
  sumVectors,
} from '../../lib/federated/secure-aggregation';
import { selfMaskSeed } from '../../lib/federated/site-secret';
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

/** A site's self-mask seed for a round's attempt, as the site derives it (from its key seed, here the test seed). */
const selfSeedOf = (site: string, round: number, attempt: number): Buffer => Buffer.from(selfMaskSeed(seedFor(site).toString('hex'), round, attempt), 'hex');

/** Each of `sites` encoded and double-masked among `sites` for one attempt of a round: pair masks and its self mask. */
function doubleMasked(sites: Site[], attempt: number, round = 3, runId = 'run-abc'): Uint32Array[] {
  const participants = sites.map(({ site, publicKey }) => ({ site, publicKey }));
  return sites.map((s) =>
    maskVector({
      encoded: encodeFixedPoint(s.values, s.site),
      me: s.site,
      participants,
      privateKey: s.privateKey,
      round,
      attempt,
      runId,
      selfMaskSeed: selfSeedOf(s.site, round, attempt),
    }),
  );
}

/** Word-wise a − b mod 2^32. */
function subtract(a: Uint32Array, b: Uint32Array): Uint32Array {
  return a.map((x, j) => x - b[j]!);
}

/** How many words two vectors share: a handful at most when one of them is uniform noise. */
function sameWords(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let j = 0; j < a.length; j++) if (a[j] === b[j]) same++;
  return same;
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

describe('double masking (self masks)', () => {
  const names = ['west', 'east', 'north'];

  test('selfMask: a keystream of uint32 words per 32-byte seed; a shorter mask is a prefix; removeSelfMasks takes them out mod 2^32', () => {
    const seed = selfSeedOf('west', 3, 0);
    expect(seed).toHaveLength(32);
    const mask = selfMask(seed, 4096);
    expect(selfMask(seed, 4096)).toEqual(mask);
    expect(selfMask(seed, 10)).toEqual(mask.subarray(0, 10));
    expect(sameWords(mask, selfMask(selfSeedOf('west', 3, 1), 4096))).toBeLessThan(3);
    expect(Math.abs(mask.reduce((n, w) => n + w, 0) / mask.length / 2 ** 31 - 1)).toBeLessThan(0.05);
    const values = Uint32Array.of(0, 1, 2 ** 32 - 1, 12345);
    const seeds = [selfSeedOf('a', 1, 0), selfSeedOf('b', 1, 0)];
    const withMasks = sumVectors([values, selfMask(seeds[0]!, 4), selfMask(seeds[1]!, 4)]);
    expect(removeSelfMasks(withMasks, seeds)).toEqual(values);
    expect(removeSelfMasks(withMasks, [...seeds].reverse())).toEqual(values);
    expect(withMasks).toEqual(sumVectors([values, selfMask(seeds[0]!, 4), selfMask(seeds[1]!, 4)])); // not modified in place
    expect(() => selfMask(Buffer.alloc(16), 4)).toThrow('a self-mask seed is 32 bytes, not 16');
  });

  test('the sum of double-masked vectors less every self mask is the sum of the encodings, exactly; with the self masks in, it is noise', () => {
    const sites = makeSites(names, 4096, 21);
    const encodings = sumVectors(sites.map((s) => encodeFixedPoint(s.values, s.site)));
    const sum = sumVectors(doubleMasked(sites, 0));
    const seeds = sites.map((s) => selfSeedOf(s.site, 3, 0));
    expect(removeSelfMasks(sum, seeds)).toEqual(encodings);

    // The pair masks cancel but the self masks do not: the sum alone is uniform noise, far from the encodings.
    expect(sameWords(sum, encodings)).toBeLessThan(3);
    expect(Math.abs(sum.reduce((n, w) => n + w, 0) / sum.length / 2 ** 31 - 1)).toBeLessThan(0.05);
    const exact = decodeFixedPoint(encodings);
    const noisy = decodeFixedPoint(sum);
    expect(noisy.filter((v, j) => Math.abs(v - exact[j]!) > 1).length).toBeGreaterThan(4000);
    // All but one self mask taken out: still noise.
    expect(sameWords(removeSelfMasks(sum, seeds.slice(0, 2)), encodings)).toBeLessThan(3);
    // The seeds of another attempt take out the wrong masks.
    expect(
      sameWords(
        removeSelfMasks(
          sum,
          sites.map((s) => selfSeedOf(s.site, 3, 1)),
        ),
        encodings,
      ),
    ).toBeLessThan(3);
  });

  test('a site masks attempt 0 and attempt 1 of a round with different pair masks, not only different self masks', () => {
    const sites = makeSites(names, 1024, 22);
    const participants = sites.map(({ site, publicKey }) => ({ site, publicKey }));
    const west = sites[0]!;
    const encoded = encodeFixedPoint(west.values, 'west');
    const mask = (attempt: number, withSelfMask: boolean): Uint32Array =>
      maskVector({
        encoded,
        me: 'west',
        participants,
        privateKey: west.privateKey,
        round: 3,
        attempt,
        runId: 'run-abc',
        ...(withSelfMask ? { selfMaskSeed: selfSeedOf('west', 3, attempt) } : {}),
      });
    // attempt defaults to 0.
    expect(maskVector({ encoded, me: 'west', participants, privateKey: west.privateKey, round: 3, runId: 'run-abc' })).toEqual(mask(0, false));
    // The same input and participants: the two attempts' vectors differ by more than the difference of the self masks.
    const [m0, m1] = [mask(0, true), mask(1, true)];
    const selfDifference = subtract(selfMask(selfSeedOf('west', 3, 0), 1024), selfMask(selfSeedOf('west', 3, 1), 1024));
    expect(sameWords(subtract(m0, m1), selfDifference)).toBeLessThan(3);
    // So the pair masks alone differ: without self masks the two attempts share nothing.
    const pairs0 = subtract(mask(0, false), encoded);
    const pairs1 = subtract(mask(1, false), encoded);
    expect(sameWords(pairs0, pairs1)).toBeLessThan(3);
    // And each attempt's vector is its encoding plus its pair masks plus its self mask.
    expect(m0).toEqual(sumVectors([encoded, pairs0, selfMask(selfSeedOf('west', 3, 0), 1024)]));
    expect(m1).toEqual(sumVectors([encoded, pairs1, selfMask(selfSeedOf('west', 3, 1), 1024)]));
    // Each attempt's pair masks still cancel among its own participants.
    const encodings = sumVectors(sites.map((s) => encodeFixedPoint(s.values, s.site)));
    for (const attempt of [0, 1]) {
      const vectors = sites.map((s) =>
        maskVector({ encoded: encodeFixedPoint(s.values, s.site), me: s.site, participants, privateKey: s.privateKey, round: 3, attempt, runId: 'run-abc' }),
      );
      expect(sumVectors(vectors)).toEqual(encodings);
    }
  });

  test("a late update: the abandoned attempt's sum and the re-run's do not give the third site's update", () => {
    // Attempt 0 among west, east, north; north's update is late, so the coordinator re-runs the round among
    // west and east (attempt 1) and learns their self masks for attempt 1 only. Then north's update arrives.
    const sites = makeSites(names, 4096, 23);
    const [west, east, north] = sites as [Site, Site, Site];
    const northEncoded = encodeFixedPoint(north.values, 'north');
    const attempt0 = doubleMasked(sites, 0);
    const attempt1 = doubleMasked([west, east], 1);
    const revealed1 = [selfSeedOf('west', 3, 1), selfSeedOf('east', 3, 1)];
    const sum0 = sumVectors(attempt0);
    const sum1 = sumVectors(attempt1);
    const unmasked1 = removeSelfMasks(sum1, revealed1);
    // The re-run's sum is what it should be: west + east, exactly.
    expect(unmasked1).toEqual(sumVectors([encodeFixedPoint(west.values, 'west'), encodeFixedPoint(east.values, 'east')]));

    // sum0 − sum1-style differences: none of them is north's encoded update, none even close to it.
    const candidates = {
      'sum0 − unmasked sum1': subtract(sum0, unmasked1),
      'sum0 − sum1': subtract(sum0, sum1),
      'sum0 − unmasked sum1 − revealed self masks': removeSelfMasks(subtract(sum0, unmasked1), revealed1),
      "north's masked vector alone": attempt0[2]!,
      "north's masked vector − unmasked sum1": subtract(attempt0[2]!, unmasked1),
    };
    const exact = decodeFixedPoint(northEncoded);
    for (const [what, candidate] of Object.entries(candidates)) {
      expect([what, sameWords(candidate, northEncoded) < 3]).toEqual([what, true]);
      const decoded = decodeFixedPoint(candidate);
      expect([what, decoded.filter((v, j) => Math.abs(v - exact[j]!) > 1).length > 4000]).toEqual([what, true]);
    }
    // What is left is north's update behind the three unrevealed attempt-0 self masks.
    const hidden = sumVectors([northEncoded, ...sites.map((s) => selfMask(selfSeedOf(s.site, 3, 0), 4096))]);
    expect(subtract(sum0, unmasked1)).toEqual(hidden);

    // Without self masks the same subtraction gives north's update away, exactly: what double masking prevents.
    const single0 = sumVectors(masked(sites));
    const single1 = sumVectors(
      [west, east].map((s) =>
        maskVector({
          encoded: encodeFixedPoint(s.values, s.site),
          me: s.site,
          participants: [west, east].map(({ site, publicKey }) => ({ site, publicKey })),
          privateKey: s.privateKey,
          round: 3,
          attempt: 1,
          runId: 'run-abc',
        }),
      ),
    );
    expect(subtract(single0, single1)).toEqual(northEncoded);
  });
});

describe('sumVectors', () => {
  test('word-wise mod 2^32', () => {
    expect(sumVectors([Uint32Array.of(2 ** 32 - 1, 5), Uint32Array.of(2, 7)])).toEqual(Uint32Array.of(1, 12));
    expect(() => sumVectors([new Uint32Array(2), new Uint32Array(3)])).toThrow('vector 1 has 3 words but vector 0 has 2');
    expect(() => sumVectors([])).toThrow('at least one vector');
  });
});
