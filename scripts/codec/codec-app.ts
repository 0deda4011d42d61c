import { timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';

/** A payload as the codec server protocol carries it: metadata values and data in base64. */
const jsonPayload = z.object({ metadata: z.record(z.string(), z.string()).optional().nullable(), data: z.string().optional().nullable() }).strict();
const codecRequest = z.object({ payloads: z.array(jsonPayload).max(10_000) }).strict();
type JsonPayload = z.infer<typeof jsonPayload>;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** A caller must send `Authorization: Bearer <token>`; without one, only loopback callers are served. */
  token: string | undefined;
  /** Browser origins (the Web UI's) allowed to call across origins. */
  corsOrigins: readonly string[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromJson(payload: JsonPayload, index: number): Payload {
  const bytes = (value: string, what: string): Uint8Array => {
    if (!BASE64.test(value)) throw new CodecRequestError(`payloads[${index}].${what} is not base64.`);
    return Buffer.from(value, 'base64');
  };
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, bytes(v, `metadata.${k}`)])),
    data: bytes(payload.data ?? '', 'data'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

class CodecRequestError extends Error {}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function authorised(request: FastifyRequest, token: string | undefined): boolean {
  if (token === undefined) return LOOPBACK.has(request.socket.remoteAddress ?? '');
  const given = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Temporal's remote codec protocol (`POST /decode`, `POST /encode`), so that the Web UI and
 * `temporal workflow show --codec-endpoint` show encrypted payloads in clear to those allowed:
 * a bearer token when one is configured, otherwise callers on this machine only. CORS admits the
 * configured Web UI origins with the headers the UI sends (X-Namespace, Authorization).
 */
export function buildCodecServer(options: CodecServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  const origins = new Set(options.corsOrigins);

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && origins.has(origin)) {
      void reply.header('access-control-allow-origin', origin);
      void reply.header('vary', 'Origin');
      void reply.header('access-control-allow-credentials', 'true');
    }
    if (request.method === 'OPTIONS') {
      void reply.header('access-control-allow-methods', 'POST, OPTIONS');
      void reply.header('access-control-allow-headers', 'Content-Type, X-Namespace, Authorization');
      void reply.header('access-control-max-age', '600');
      return reply.code(origin && origins.has(origin) ? 204 : 403).send();
    }
    if (origin && !origins.has(origin)) return reply.code(403).send({ error: `origin ${origin} is not allowed; add it to PIPEWRIGHT_CODEC_CORS_ORIGINS.` });
    if (!authorised(request, options.token))
      return reply.code(401).send({
        error: options.token
          ? 'send Authorization: Bearer <PIPEWRIGHT_CODEC_TOKEN>.'
          : 'only callers on this machine are served; set PIPEWRIGHT_CODEC_TOKEN to serve others.',
      });
  });
  app.options('/*', async () => undefined);

  for (const direction of ['encode', 'decode'] as const) {
    app.post(`/${direction}`, async (request, reply) => {
      const parsed = codecRequest.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return reply
          .code(400)
          .send({ error: `${issue.path.join('.') || 'body'}: ${issue.message}; send {"payloads": [{"metadata": {...base64}, "data": "base64"}]}.` });
      }
      try {
        const payloads = parsed.data.payloads.map(fromJson);
        const out = await options.codec[direction](payloads);
        return { payloads: out.map(toJson) };
      } catch (err) {
        // A malformed payload or one sealed with an unknown key: the caller's problem, stated.
        return reply.code(400).send({ error: (err as Error).message });
      }
    });
  }
  return app;
}
