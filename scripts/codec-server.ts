import { payloadCodecs } from '../contracts/payload-codec';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logging/logger';
import { buildCodecServer } from './codec/codec-app';

/**
 * The codec server as its own process (`pipewright up` starts it when payloads are encrypted):
 * the Web UI and `temporal workflow show --codec-endpoint` decode payloads through it. Without a
 * token it listens on loopback only; with PIPEWRIGHT_CODEC_TOKEN on every interface.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('codec-server', config.logLevel);
  const [codec] = payloadCodecs(config);
  if (!codec) {
    logger.fatal('no payload keys: set PIPEWRIGHT_PAYLOAD_KEYS or PIPEWRIGHT_PAYLOAD_KEY_FILE (`pipewright keys generate` prints a key)');
    process.exit(2);
  }
  const app = buildCodecServer({ codec, token: config.codec.token, corsOrigins: config.codec.corsOrigins });
  const host = config.codec.token ? '0.0.0.0' : '127.0.0.1';
  await app.listen({ port: config.codec.port, host });
  logger.info({ port: config.codec.port, host, corsOrigins: config.codec.corsOrigins, token: Boolean(config.codec.token) }, 'codec server listening');
  const shutdown = async (): Promise<void> => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(`pipewright codec server failed to start: ${(err as Error).message}`);
  process.exit(1);
});
