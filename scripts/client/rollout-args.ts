import { DEFAULT_ROLLOUT_POLICY, type RolloutPolicy, type RolloutProgress, type RolloutResult } from '../../contracts';
import { parseDuration } from './duration';
import { UsageError } from './usage-error';

export const ROLLOUT_USAGE =
  'pipewright rollout <model> <version> [--mode canary|shadow] [--share 0.1] [--window 5m] [--min-requests 100] [--max-latency-ratio 2] [--max-error-increase 0.01]';

export interface RolloutFlags {
  mode?: string;
  share?: string;
  window?: string;
  minRequests?: string;
  maxLatencyRatio?: string;
  maxErrorIncrease?: string;
}

function fraction(value: string, flag: string, inclusiveZero = false): number {
  const x = Number(value);
  if (!(Number.isFinite(x) && (inclusiveZero ? x >= 0 : x > 0) && x <= 1))
    throw new UsageError(`${flag} must be a number in ${inclusiveZero ? '[0' : '(0'}, 1], got "${value}"`, ROLLOUT_USAGE);
  return x;
}

/** The model, version and policy a `pipewright rollout` command line asks for, checked. */
export function parseRolloutArgs(args: readonly string[], flags: RolloutFlags): { model: string; version: number; policy: RolloutPolicy } {
  const [model, versionText, ...rest] = args;
  if (!model || !versionText || rest.length) throw new UsageError('name the model and the version to roll out', ROLLOUT_USAGE);
  const version = Number(versionText);
  if (!Number.isInteger(version) || version <= 0) throw new UsageError(`the version must be a positive integer, got "${versionText}"`, ROLLOUT_USAGE);
  const mode = flags.mode ?? DEFAULT_ROLLOUT_POLICY.mode;
  if (mode !== 'canary' && mode !== 'shadow') throw new UsageError(`--mode must be canary or shadow, got "${mode}"`, ROLLOUT_USAGE);
  const policy: RolloutPolicy = { ...DEFAULT_ROLLOUT_POLICY, mode, share: mode === 'shadow' ? 1 : DEFAULT_ROLLOUT_POLICY.share };
  if (flags.share !== undefined) policy.share = fraction(flags.share, '--share');
  if (flags.window !== undefined) policy.windowSeconds = parseDuration(flags.window, '--window', ROLLOUT_USAGE, 's') / 1000;
  if (flags.minRequests !== undefined) {
    const n = Number(flags.minRequests);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--min-requests must be a positive integer, got "${flags.minRequests}"`, ROLLOUT_USAGE);
    policy.minRequests = n;
  }
  if (flags.maxLatencyRatio !== undefined) {
    const r = Number(flags.maxLatencyRatio);
    if (!(r >= 1)) throw new UsageError(`--max-latency-ratio must be a number of 1 or more, got "${flags.maxLatencyRatio}"`, ROLLOUT_USAGE);
    policy.maxLatencyRatio = r;
  }
  if (flags.maxErrorIncrease !== undefined) policy.maxErrorRateIncrease = fraction(flags.maxErrorIncrease, '--max-error-increase', true);
  return { model, version, policy };
}

/** One line of a rollout in progress: the challenger's and production's figures so far. */
export function rolloutProgressLine(p: RolloutProgress): string {
  const elapsed = `${p.elapsedSeconds.toFixed(0)}s`;
  if (!p.stats) return `  ${elapsed}  ${p.phase}`;
  const { challenger: c, production: pr } = p.stats;
  const p99 = (x: number | null): string => (x === null ? '-' : `${x.toFixed(1)}ms`);
  return `  ${elapsed}  challenger ${c.requests} req, ${c.errors} errors, p99 ${p99(c.p99Ms)} · production ${pr.requests} req, ${pr.errors} errors, p99 ${p99(pr.p99Ms)}${p.verdict ? ` · ${p.verdict.reason}` : ''}`;
}

export function rolloutResultLines(r: RolloutResult): string[] {
  return [
    `${r.outcome === 'promoted' ? 'Promoted' : 'Rolled back'} ${r.model} v${r.version} (${r.mode}): ${r.reason}`,
    `  production is ${r.production === null ? 'not set' : `v${r.production}`}; \`pipewright models history ${r.model} --alias canary\` shows the release`,
  ];
}
