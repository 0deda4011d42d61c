import { generatePayloadKey } from '../../lib/codec/payload-keys';
import { UsageError } from '../client/usage-error';

const USAGE = 'pipewright keys generate';

/**
 * `pipewright keys generate`: prints a new `id:base64key` entry for PIPEWRIGHT_PAYLOAD_KEYS. To
 * rotate, put the new entry first and keep the old ones after it until no history needs them.
 */
export function keysCommand(args: string[]): number {
  if (args[0] !== 'generate' || args.length > 1)
    throw new UsageError(args[0] ? `unknown keys subcommand "${args.join(' ')}"` : 'keys needs a subcommand', USAGE);
  console.log(generatePayloadKey());
  console.error(
    'Put it first in PIPEWRIGHT_PAYLOAD_KEYS (comma-separated) on every client, pool and codec server; keep older keys after it to read older runs.',
  );
  return 0;
}
