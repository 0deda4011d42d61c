import type { PipewrightConfig } from '../../lib/config';

/** Where the stack's codec server answers: the Web UI calls it from the browser on this machine. */
export function codecUrl(config: Pick<PipewrightConfig, 'codec'>): string {
  return `http://127.0.0.1:${config.codec.port}`;
}
