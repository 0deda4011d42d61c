import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA, payloadCodecs } from '../../contracts/payload-codec';
import { open, seal } from '../../lib/codec/aes-gcm';
import { generatePayloadKey, parsePayloadKeys } from '../../lib/codec/payload-keys';

const KEY_A = `ka:${Buffer.alloc(32, 1).toString('base64')}`;
const KEY_B = `kb:${Buffer.alloc(32, 2).toString('base64')}`;
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('latin1');

describe('payload keys', () => {
  test('the first entry encrypts; the others stay for decrypting', () => {
    const ring = parsePayloadKeys(`${KEY_B},\n${KEY_A} # retired\n`, 'PIPEWRIGHT_PAYLOAD_KEYS');
    expect(ring.active.id).toBe('kb');
    expect([...ring.byId.keys()]).toEqual(['kb', 'ka']);
    expect(ring.byId.get('ka')!.key).toEqual(Buffer.alloc(32, 1));
  });

  test('a generated key parses, and two generated keys differ', () => {
    const [a, b] = [generatePayloadKey(), generatePayloadKey()];
    expect(parsePayloadKeys(a, 'x').active.key).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  test.each([
    ['', 'holds no key'],
    ['no-colon-here', 'entry 1 has no valid key id'],
    [`bad id:${Buffer.alloc(32).toString('base64')}`, 'entry 1 has no valid key id'],
    [`k1:${Buffer.alloc(16).toString('base64')}`, 'entry 1 (key id "k1") is not a base64-encoded 32-byte AES-256 key (it decodes to 16 bytes)'],
    ['k1:not base64!!', 'is not a base64-encoded 32-byte AES-256 key'],
    [`${KEY_A},${KEY_A}`, 'entry 2 repeats key id "ka"'],
  ])('%p is refused: %s', (value, message) => {
    expect(() => parsePayloadKeys(value, 'PIPEWRIGHT_PAYLOAD_KEYS')).toThrow(message);
  });

  test('messages never quote the key material', () => {
    const secret = Buffer.alloc(31, 7).toString('base64');
    expect(() => parsePayloadKeys(`k1:${secret}`, 'PIPEWRIGHT_PAYLOAD_KEYS')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secret) }),
    );
  });

  test('a missing key file names the setting', () => {
    expect(() => payloadCodecs({ payloadKeys: { source: 'PIPEWRIGHT_PAYLOAD_KEY_FILE', value: '/nonexistent/keys' } })).toThrow(
      'PIPEWRIGHT_PAYLOAD_KEY_FILE=/nonexistent/keys cannot be read (ENOENT)',
    );
  });
});

describe('AES-256-GCM sealing', () => {
  const ring = parsePayloadKeys(KEY_A, 'k');
  const plaintext = Buffer.from('{"uri":"file:///artifacts/model.json"}');

  test('round trip, with a fresh IV each time', () => {
    const a = seal(ring, plaintext);
    const b = seal(ring, plaintext);
    expect(a.keyId).toBe('ka');
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(false);
    expect(open(ring, a)).toEqual(plaintext);
    expect(a.bytes.length).toBe(plaintext.length + 12 + 16);
  });

  test('altered bytes, a relabelled key id and an unknown key id are refused', () => {
    const sealed = seal(ring, plaintext);
    const altered = Buffer.from(sealed.bytes);
    altered[20]! ^= 1;
    expect(() => open(ring, { keyId: 'ka', bytes: altered })).toThrow('failed authentication');
    // The same key under another id: the id is associated data, so this fails too.
    const twin = parsePayloadKeys(`${KEY_A},kz:${Buffer.alloc(32, 1).toString('base64')}`, 'k');
    expect(() => open(twin, { keyId: 'kz', bytes: sealed.bytes })).toThrow('failed authentication');
    expect(() => open(parsePayloadKeys(KEY_B, 'k'), sealed)).toThrow('encrypted with key id "ka", which this process does not have (it has "kb")');
    expect(() => open(ring, { keyId: 'ka', bytes: new Uint8Array(5) })).toThrow('too short');
  });
});

describe('EncryptionCodec', () => {
  const spec = { name: 'churn', source: { table: 'customers_2026' }, metrics: { auc: 0.8125 } };
  const original: Payload = defaultPayloadConverter.toPayload(spec);

  test('encodes to an opaque payload carrying only the encoding and key id, and decodes back exactly', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(KEY_A, 'k'));
    const [encoded] = await codec.encode([original]);
    expect(Object.keys(encoded!.metadata!).sort()).toEqual([KEY_ID_METADATA, METADATA_ENCODING_KEY].sort());
    expect(text(encoded!.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded!.metadata![KEY_ID_METADATA])).toBe('ka');
    for (const clear of ['churn', 'customers_2026', '0.8125', 'json/plain']) expect(text(encoded!.data)).not.toContain(clear);
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(spec);
    expect(text(decoded!.metadata![METADATA_ENCODING_KEY])).toBe('json/plain');
  });

  test('after a rotation, payloads of the old key still decode and new ones use the new key', async () => {
    const before = new EncryptionCodec(parsePayloadKeys(KEY_A, 'k'));
    const after = new EncryptionCodec(parsePayloadKeys(`${KEY_B},${KEY_A}`, 'k'));
    const [old] = await before.encode([original]);
    const [fresh] = await after.encode([original]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('kb');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([spec, spec]);
    await expect(before.decode([fresh!])).rejects.toThrow('key id "kb", which this process does not have');
  });

  test('payloads it did not encrypt pass through decode unchanged', async () => {
    const codec = new EncryptionCodec(parsePayloadKeys(KEY_A, 'k'));
    await expect(codec.decode([original])).resolves.toEqual([original]);
    const noKeyId: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING) }, data: new Uint8Array(40) };
    await expect(codec.decode([noKeyId])).rejects.toThrow('has no "encryption-key-id" metadata');
  });

  test('no keys configured: no codec', () => {
    expect(payloadCodecs({ payloadKeys: undefined })).toEqual([]);
  });
});
