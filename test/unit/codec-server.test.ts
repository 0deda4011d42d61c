import { defaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { ENCRYPTED_ENCODING, EncryptionCodec } from '../../contracts/payload-codec';
import { parsePayloadKeys } from '../../lib/codec/payload-keys';
import { buildCodecServer } from '../../scripts/codec/codec-app';

const codec = new EncryptionCodec(parsePayloadKeys(`k1:${Buffer.alloc(32, 9).toString('base64')}`, 'k'));
const UI = 'http://localhost:8233';
const b64 = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('base64');

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

async function encryptedJson(value: unknown): Promise<JsonPayload> {
  const [p] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  return { metadata: Object.fromEntries(Object.entries(p!.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(p!.data) };
}

describe('codec server', () => {
  let open: FastifyInstance;
  let guarded: FastifyInstance;
  beforeAll(() => {
    open = buildCodecServer({ codec, token: undefined, corsOrigins: [UI] });
    guarded = buildCodecServer({ codec, token: 's3cret', corsOrigins: [UI] });
  });
  afterAll(async () => {
    await Promise.all([open.close(), guarded.close()]);
  });

  test('/decode returns the payloads in clear, as the Web UI shows them', async () => {
    const spec = { name: 'churn', epochs: 3 };
    const res = await open.inject({
      method: 'POST',
      url: '/decode',
      headers: { origin: UI, 'x-namespace': 'default' },
      payload: { payloads: [await encryptedJson(spec)] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    const [decoded] = (res.json() as { payloads: JsonPayload[] }).payloads;
    expect(Buffer.from(decoded!.metadata[METADATA_ENCODING_KEY]!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded!.data, 'base64').toString())).toEqual(spec);
  });

  test('/encode then /decode round-trips', async () => {
    const clear = defaultPayloadConverter.toPayload({ refs: ['file:///a'] });
    const payload = { metadata: { encoding: b64(clear.metadata!.encoding) }, data: b64(clear.data) };
    const enc = await open.inject({ method: 'POST', url: '/encode', payload: { payloads: [payload] } });
    const encoded = (enc.json() as { payloads: JsonPayload[] }).payloads[0]!;
    expect(Buffer.from(encoded.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const dec = await open.inject({ method: 'POST', url: '/decode', payload: { payloads: [encoded] } });
    expect((dec.json() as { payloads: JsonPayload[] }).payloads[0]).toEqual(payload);
  });

  test('CORS preflight admits the Web UI with the headers it sends, and refuses other origins', async () => {
    const ok = await open.inject({ method: 'OPTIONS', url: '/decode', headers: { origin: UI, 'access-control-request-method': 'POST' } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-headers']).toContain('X-Namespace');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    const other = await open.inject({
      method: 'OPTIONS',
      url: '/decode',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.statusCode).toBe(403);
    const post = await open.inject({ method: 'POST', url: '/decode', headers: { origin: 'https://evil.example' }, payload: { payloads: [] } });
    expect(post.statusCode).toBe(403);
    expect(post.json()).toEqual({ error: 'origin https://evil.example is not allowed; add it to PIPEWRIGHT_CODEC_CORS_ORIGINS.' });
  });

  test('without a token, only callers on this machine are served', async () => {
    const remote = await open.inject({ method: 'POST', url: '/decode', remoteAddress: '10.0.0.7', payload: { payloads: [] } });
    expect(remote.statusCode).toBe(401);
    expect(remote.json()).toEqual({ error: 'only callers on this machine are served; set PIPEWRIGHT_CODEC_TOKEN to serve others.' });
  });

  test('with a token, the bearer must match', async () => {
    const body = { payloads: [await encryptedJson({ a: 1 })] };
    const none = await guarded.inject({ method: 'POST', url: '/decode', payload: body });
    expect(none.statusCode).toBe(401);
    const wrong = await guarded.inject({ method: 'POST', url: '/decode', headers: { authorization: 'Bearer s3creT' }, payload: body });
    expect(wrong.statusCode).toBe(401);
    const right = await guarded.inject({
      method: 'POST',
      url: '/decode',
      remoteAddress: '10.0.0.7',
      headers: { authorization: 'Bearer s3cret' },
      payload: body,
    });
    expect(right.statusCode).toBe(200);
  });

  test('malformed requests and payloads under an unknown key get a 400 that says what is wrong', async () => {
    const notPayloads = await open.inject({ method: 'POST', url: '/decode', payload: { items: [] } });
    expect(notPayloads.statusCode).toBe(400);
    expect((notPayloads.json() as { error: string }).error).toContain('send {"payloads"');
    const notBase64 = await open.inject({ method: 'POST', url: '/decode', payload: { payloads: [{ metadata: { encoding: '%%%' }, data: '' }] } });
    expect(notBase64.json()).toEqual({ error: 'payloads[0].metadata.encoding is not base64.' });
    const foreign = buildCodecServer({
      codec: new EncryptionCodec(parsePayloadKeys(`k2:${Buffer.alloc(32, 3).toString('base64')}`, 'k')),
      token: undefined,
      corsOrigins: [],
    });
    const unknownKey = await foreign.inject({ method: 'POST', url: '/decode', payload: { payloads: [await encryptedJson({ a: 1 })] } });
    expect(unknownKey.statusCode).toBe(400);
    expect((unknownKey.json() as { error: string }).error).toContain('key id "k1", which this process does not have');
    await foreign.close();
    const text = await open.inject({ method: 'POST', url: '/decode', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(400);
    expect((text.json() as { error: string }).error).toContain('send {"payloads"');
  });
});
