/**
 * Which sites train in a round, for the coordinator workflow: pure and seeded (lib/random), so a
 * replay or a resumed run picks the same sites.
 */
export { sitesForRound } from '../lib/federated/site-selection';
