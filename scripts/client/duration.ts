import { UsageError } from './usage-error';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h", "2d" as milliseconds; a bare number is in `bareUnit`. */
export function parseDuration(value: string, flag: string, usage: string, bareUnit: 's' | 'm' = 'm'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] || bareUnit]! : Number.NaN;
  if (!(ms > 0)) throw new UsageError(`${flag} must be a duration like 90s, 15m, 1h or 1d, got "${value}"`, usage);
  return ms;
}
