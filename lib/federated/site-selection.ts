import { deriveSeed, mulberry32, shuffleInPlace } from '../random';

/**
 * The sites that train in a round: k = max(minSites, ceil(fraction·n)), at most n, drawn by a
 * shuffle seeded from (seed, 'sites', round) so a replay or a resume picks the same sites.
 * Returned in the order of `sites`.
 */
export function sitesForRound({
  sites,
  fraction,
  minSites,
  seed,
  round,
}: {
  sites: readonly string[];
  fraction: number;
  minSites: number;
  seed: number;
  round: number;
}): string[] {
  if (new Set(sites).size !== sites.length) throw new Error('sitesForRound: a site is listed twice');
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`sitesForRound: fraction must be in [0, 1], not ${fraction}`);
  if (!(Number.isInteger(minSites) && minSites >= 0)) throw new Error(`sitesForRound: minSites must be a non-negative integer, not ${minSites}`);
  const n = sites.length;
  // The epsilon keeps 0.28·25 = 7.000000000000001 at 7 sites, not 8.
  const k = Math.min(n, Math.max(minSites, Math.ceil(fraction * n - 1e-9)));
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, mulberry32(deriveSeed(seed, 'sites', round)));
  return order
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => sites[i]!);
}
