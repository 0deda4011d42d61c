import { z } from 'zod';
import { parsePipelineSpec, SpecError, type PipelineSpec } from './pipeline-spec';

/** A site's name: it becomes part of a task queue name, so letters, digits, '-' and '_' only. */
const siteName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/i, 'a site name is 1-40 letters, digits, "-" or "_", starting with a letter or digit')
  .describe('site name; its worker polls the task queue <prefix>site-<name>');

const strategy = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fedAvg') }).strict(),
  z
    .object({
      kind: z.literal('fedProx'),
      /** Weight of the proximal term (mu/2)·|w − w_global|² that keeps local training near the global model. */
      mu: z.number({ error: 'fedProx needs strategy.mu, the proximal weight: a number > 0, e.g. 0.01' }).positive().max(100),
    })
    .strict(),
]);

const privacy = z
  .object({
    /** Each site's update is scaled down to this L2 norm before it leaves the site. */
    clipNorm: z.number().positive(),
    /** Gaussian noise of std noiseMultiplier · clipNorm is added to the sum of the round's updates. */
    noiseMultiplier: z.number().min(0),
    /** The δ of the (ε, δ) budget the run reports. */
    delta: z.number().gt(0, 'privacy.delta must be in (0, 1), e.g. 1e-5').lt(1, 'privacy.delta must be in (0, 1), e.g. 1e-5').default(1e-5),
  })
  .strict();

export const federatedSectionSchema = z
  .object({
    sites: z.array(siteName).min(1).max(100),
    /** Sites that only evaluate the global model on their own test split: they neither train nor shape the transform (a held-out site, or the baselines of a demo). */
    evaluationSites: z.array(siteName).max(100).default([]),
    rounds: z.number().int().min(1).max(10_000),
    /** Epochs over its own train rows each chosen site runs per round. */
    localEpochs: z.number().int().min(1).max(1000).default(1),
    /** Share of the sites asked to train each round (at least minSites of them). */
    fraction: z.number().gt(0).max(1).default(1),
    /** Updates a round needs to count; fewer, and onShortRound decides. Default: 2, or 1 with one site. */
    minSites: z.number().int().min(1).optional(),
    /** A site that has not returned its update this long after the round asked it is left out of the round. */
    roundTimeoutSeconds: z.number().positive().max(86_400).default(600),
    /** A round with fewer than minSites updates: fail the run, or keep the global model and go on. */
    onShortRound: z.enum(['fail', 'skip']).default('fail'),
    strategy: strategy.default({ kind: 'fedAvg' }),
    /** Step size of the global model along the averaged update (1: plain FedAvg). */
    serverLearningRate: z.number().positive().max(10).default(1),
    /** Evaluate the global model at every site every this many rounds (and always after the last). */
    evaluateEvery: z.number().int().min(1).default(1),
    privacy: privacy.optional(),
    /** Pairwise masks: the coordinator sees only the sum of the round's updates. */
    secureAggregation: z.boolean().default(false),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    const listed = (key: 'sites' | 'evaluationSites') => (s: string, i: number) => {
      if (seen.has(s))
        ctx.addIssue({ code: 'custom', path: [key, i], message: `site "${s}" is listed twice; list each site once, in sites or in evaluationSites` });
      seen.add(s);
    };
    f.sites.forEach(listed('sites'));
    f.evaluationSites.forEach(listed('evaluationSites'));
    if (f.minSites !== undefined && f.minSites > f.sites.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['minSites'],
        message: `minSites is ${f.minSites}, but only ${f.sites.length} site${f.sites.length === 1 ? ' is' : 's are'} listed: lower minSites or add sites`,
      });
    }
  });

export type FederatedSection = z.output<typeof federatedSectionSchema> & { minSites: number };

/** A pipeline spec (source, label, features, split, model) that every site applies to its own data, and how the rounds run. */
export interface FederatedSpec {
  pipeline: PipelineSpec;
  federated: FederatedSection;
}

/**
 * Validates a federated spec: an ordinary pipeline spec plus a `federated` section. What needs a
 * pass over all rows at once, or a model trained outside the rounds, has no federated form and is
 * refused with what to remove.
 */
export function parseFederatedSpec(value: unknown, origin = '(inline)'): FederatedSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SpecError(['a federated spec is a JSON object'], origin);
  const { federated: section, ...rest } = value as Record<string, unknown>;
  if (section === undefined) throw new SpecError(['federated: missing; add {"sites": [...], "rounds": N}'], origin);
  // Settings with no federated form are named first, read from the raw object: their own details need not be right to be refused.
  const problems: string[] = unsupported(rest as Partial<PipelineSpec>);
  let pipeline: PipelineSpec | undefined;
  try {
    pipeline = parsePipelineSpec(rest, origin);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    problems.push(...err.problems);
  }
  const parsed = federatedSectionSchema.safeParse(section);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${['federated', ...i.path.map(String)].join('.')}: ${i.message}`));
  if (problems.length > 0 || !pipeline || !parsed.success) throw new SpecError(problems, origin);
  return { pipeline, federated: { ...parsed.data, minSites: parsed.data.minSites ?? Math.min(2, parsed.data.sites.length) } };
}

function unsupported(spec: Partial<PipelineSpec>): string[] {
  const out: string[] = [];
  if (spec.split?.timeColumn !== undefined) out.push('split.timeColumn: federated training supports the hash split only; remove split.timeColumn');
  if (spec.split?.stratify === true) out.push('split.stratify: federated training supports the hash split only; remove split.stratify');
  if (spec.tuning) out.push('tuning: a hyperparameter search has no federated form yet; remove the tuning section');
  if (spec.evaluation?.crossValidation) out.push('evaluation.crossValidation: not available in federated training; remove it');
  if (spec.model?.earlyStopping) out.push('model.earlyStopping: federated rounds do not stop early; remove it (set federated.rounds instead)');
  return out;
}
