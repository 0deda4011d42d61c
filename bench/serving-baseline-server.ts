import Fastify from 'fastify';

/**
 * The baseline of bench/serving.ts: bare Fastify in a process of its own, answering the model
 * server's prediction routes with a constant JSON of the same shape, no model, no metrics, no
 * logging. The body is still parsed as JSON (Fastify's default parser, as in the model server), so
 * the difference between the two is what the model server does per request: validation, encoding,
 * the forward pass, decoding, its metrics and hooks.
 *
 *   node dist/bench/serving-baseline-server.js <port>
 */

const port = Number(process.argv[2] ?? 0);
const V1_ANSWER = { predictions: [0.5], model_name: 'flights', model_version: 1 };
const V2_ANSWER = { model_name: 'flights', model_version: '1', id: 'baseline', outputs: [{ name: 'probability', shape: [1], datatype: 'FP32', data: [0.5] }] };

async function main(): Promise<void> {
  const app = Fastify({ logger: false });
  app.get('/v2/health/ready', async () => ({ ready: true }));
  app.post('/v1/models/*', async () => V1_ANSWER);
  app.post('/v2/models/:name/infer', async () => V2_ANSWER);
  await app.listen({ port, host: '127.0.0.1' });
  const stop = (): void => void app.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`baseline server failed: ${(err as Error).message}`);
  process.exit(1);
});
