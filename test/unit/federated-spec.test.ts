import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseFederatedSpec } from '../../lib/spec/federated-spec';
import { SpecError } from '../../lib/spec/pipeline-spec';

const demoPath = path.join(__dirname, '..', '..', 'examples', 'flights-federated.json');
/** The fixed flights spec the pipeline-spec tests break (a copy, so the demo may change), with a federated section added per test. */
const pipelineText = readFileSync(path.join(__dirname, 'fixtures', 'flights-spec.json'), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests break the spec on purpose, field by field
function spec(federated: unknown = { sites: ['west', 'east'], rounds: 3 }): any {
  return { ...JSON.parse(pipelineText), federated };
}

/** The problems of the SpecError that parsing throws (failing the test if it does not throw one). */
function problemsOf(value: unknown): string[] {
  try {
    parseFederatedSpec(value, 'fed.json');
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).origin).toBe('fed.json');
    return (err as SpecError).problems;
  }
  throw new Error('expected a SpecError, but parsing succeeded');
}

describe('parseFederatedSpec', () => {
  test('a valid spec gets the defaults', () => {
    const { pipeline, federated } = parseFederatedSpec(spec({ sites: ['west', 'central', 'east'], rounds: 4 }));
    expect(pipeline.name).toBe('flights');
    expect(pipeline.model).toMatchObject({ type: 'mlp', seed: 7 });
    expect(federated).toEqual({
      sites: ['west', 'central', 'east'],
      evaluationSites: [],
      rounds: 4,
      localEpochs: 1,
      fraction: 1,
      minSites: 2,
      roundTimeoutSeconds: 600,
      onShortRound: 'fail',
      strategy: { kind: 'fedAvg' },
      serverLearningRate: 1,
      evaluateEvery: 1,
      secureAggregation: false,
    });
  });

  test('minSites defaults to min(2, sites); given values are kept', () => {
    expect(parseFederatedSpec(spec({ sites: ['solo'], rounds: 1 })).federated.minSites).toBe(1);
    expect(parseFederatedSpec(spec({ sites: ['a', 'b'], rounds: 1 })).federated.minSites).toBe(2);
    const { federated } = parseFederatedSpec(
      spec({
        sites: ['a', 'b', 'c'],
        evaluationSites: ['held-out'],
        rounds: 10,
        localEpochs: 2,
        fraction: 0.5,
        minSites: 3,
        roundTimeoutSeconds: 60,
        onShortRound: 'skip',
        strategy: { kind: 'fedProx', mu: 0.01 },
        privacy: { clipNorm: 1, noiseMultiplier: 1.1 },
        secureAggregation: true,
      }),
    );
    expect(federated).toMatchObject({
      evaluationSites: ['held-out'],
      minSites: 3,
      fraction: 0.5,
      onShortRound: 'skip',
      strategy: { kind: 'fedProx', mu: 0.01 },
      privacy: { clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5 },
      secureAggregation: true,
    });
  });

  test("parses the demo's examples/flights-federated.json", () => {
    const { pipeline, federated } = parseFederatedSpec(JSON.parse(readFileSync(demoPath, 'utf8')), demoPath);
    expect(pipeline.name).toBe('flights_federated');
    expect(federated).toMatchObject({ sites: ['west', 'central', 'east'], rounds: 5, minSites: 2, strategy: { kind: 'fedAvg' } });
  });

  test('a spec without a federated section is refused with what to add', () => {
    const { federated: _, ...plain } = spec();
    expect(problemsOf(plain)).toEqual(['federated: missing; add {"sites": [...], "rounds": N}']);
    expect(problemsOf([])).toEqual(['a federated spec is a JSON object']);
  });

  test.each<[string, object, RegExp]>([
    [
      'a site listed twice',
      { sites: ['a', 'b', 'a'], rounds: 1 },
      /^federated\.sites\.2: site "a" is listed twice; list each site once, in sites or in evaluationSites$/,
    ],
    [
      'a site both training and evaluating',
      { sites: ['a', 'b'], evaluationSites: ['b'], rounds: 1 },
      /^federated\.evaluationSites\.0: site "b" is listed twice; list each site once, in sites or in evaluationSites$/,
    ],
    [
      'an evaluation site listed twice',
      { sites: ['a', 'b'], evaluationSites: ['c', 'c'], rounds: 1 },
      /^federated\.evaluationSites\.1: site "c" is listed twice; list each site once, in sites or in evaluationSites$/,
    ],
    [
      'minSites above the sites',
      { sites: ['a', 'b'], rounds: 1, minSites: 3 },
      /^federated\.minSites: minSites is 3, but only 2 sites are listed: lower minSites or add sites$/,
    ],
    [
      'a site name with a space',
      { sites: ['west coast', 'b'], rounds: 1 },
      /^federated\.sites\.0: a site name is 1-40 letters, digits, "-" or "_", starting with a letter or digit$/,
    ],
    ['a site name starting with "-"', { sites: ['-a', 'b'], rounds: 1 }, /^federated\.sites\.0: a site name is/],
    [
      'fedProx without mu',
      { sites: ['a', 'b'], rounds: 1, strategy: { kind: 'fedProx' } },
      /^federated\.strategy\.mu: fedProx needs strategy\.mu, the proximal weight: a number > 0, e\.g\. 0\.01$/,
    ],
    [
      'fedProx with a mu that is not a number',
      { sites: ['a', 'b'], rounds: 1, strategy: { kind: 'fedProx', mu: 'small' } },
      /^federated\.strategy\.mu: fedProx needs strategy\.mu, /,
    ],
    [
      'privacy with delta 1',
      { sites: ['a', 'b'], rounds: 1, privacy: { clipNorm: 1, noiseMultiplier: 1, delta: 1 } },
      /^federated\.privacy\.delta: privacy\.delta must be in \(0, 1\), e\.g\. 1e-5$/,
    ],
    [
      'privacy with delta 0',
      { sites: ['a', 'b'], rounds: 1, privacy: { clipNorm: 1, noiseMultiplier: 1, delta: 0 } },
      /^federated\.privacy\.delta: privacy\.delta must be in \(0, 1\), e\.g\. 1e-5$/,
    ],
    ['no rounds', { sites: ['a', 'b'] }, /^federated\.rounds: /],
    // An issue with the section itself names no field: "federated: …", not "federated.: …".
    ['an unknown key', { sites: ['a', 'b'], rounds: 1, round: 2 }, /^federated: [^.].*"round"/],
  ])('%s is refused, naming the field', (_what, federated, message) => {
    const problems = problemsOf(spec(federated));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  test.each<[string, (s: ReturnType<typeof spec>) => void, string]>([
    ['a time split', (s) => (s.split.timeColumn = 'date'), 'split.timeColumn: federated training supports the hash split only; remove split.timeColumn'],
    ['a stratified split', (s) => (s.split.stratify = true), 'split.stratify: federated training supports the hash split only; remove split.stratify'],
    [
      'a tuning section',
      (s) => {
        s.split.validationFraction = 0.1;
        s.tuning = { strategy: 'random', metric: 'auc', trials: 2, space: { learningRate: { logUniform: [0.001, 0.02] } } };
      },
      'tuning: a hyperparameter search has no federated form yet; remove the tuning section',
    ],
    [
      'cross-validation',
      (s) => (s.evaluation = { crossValidation: { folds: 3 } }),
      'evaluation.crossValidation: not available in federated training; remove it',
    ],
    [
      'early stopping',
      (s) => {
        s.split.validationFraction = 0.1;
        s.model.earlyStopping = { patience: 2 };
      },
      'model.earlyStopping: federated rounds do not stop early; remove it (set federated.rounds instead)',
    ],
  ])('%s has no federated form: refused with what to remove', (_what, change, problem) => {
    const value = spec();
    change(value);
    expect(problemsOf(value)).toEqual([problem]);
  });

  test('a federated section that is not an object is named as the section', () => {
    const problems = problemsOf(spec([]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^federated: /);
  });

  test('problems of the pipeline part and of the federated part are reported together', () => {
    const value = spec({ sites: ['a', 'a'], rounds: 0 });
    value.model.type = 'forest';
    const problems = problemsOf(value);
    expect(problems).toEqual([
      expect.stringMatching(/^model\.type: must be one of /),
      expect.stringMatching(/^federated\.rounds: /),
      expect.stringMatching(/^federated\.sites\.1: site "a" is listed twice/),
    ]);
  });

  test('several unsupported settings are all named at once', () => {
    const value = spec();
    value.split.stratify = true;
    value.evaluation = { crossValidation: { folds: 3 } };
    expect(problemsOf(value).map((p) => p.split(':')[0])).toEqual(['split.stratify', 'evaluation.crossValidation']);
  });

  test('unsupported settings come first, and are named even when the pipeline part has other errors', () => {
    const value = spec({ sites: ['a', 'b'], rounds: 0 });
    value.model.type = 'forest';
    value.split.timeColumn = 'date';
    value.model.earlyStopping = { patience: 2 };
    // A tuning section that is wrong in itself too (no parameters): refused for having no federated form, first.
    value.tuning = { strategy: 'random', metric: 'auc', trials: 2, space: {} };
    expect(problemsOf(value)).toEqual([
      'split.timeColumn: federated training supports the hash split only; remove split.timeColumn',
      'tuning: a hyperparameter search has no federated form yet; remove the tuning section',
      'model.earlyStopping: federated rounds do not stop early; remove it (set federated.rounds instead)',
      expect.stringMatching(/^model\.type: must be one of /),
      expect.stringMatching(/^tuning\.space: /),
      expect.stringMatching(/^federated\.rounds: /),
    ]);
  });
});
