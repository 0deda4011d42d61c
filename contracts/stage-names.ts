/** The pipeline's stages, in order. Pure (no Temporal import), so lib/ can order what it reads by them. */
export const STAGES = ['ingest', 'validate', 'transform', 'train', 'evaluate', 'register', 'deploy'] as const;
export type StageName = (typeof STAGES)[number];

/** Stage timings in pipeline order (PostgreSQL's jsonb keeps keys sorted by length, not as written); unknown keys last. */
export function inStageOrder(seconds: Readonly<Record<string, number>>): Record<string, number> {
  const rank = (stage: string): number => {
    const i = (STAGES as readonly string[]).indexOf(stage);
    return i < 0 ? STAGES.length : i;
  };
  return Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => rank(a) - rank(b)));
}
