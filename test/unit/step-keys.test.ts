import { codeVersion } from '../../lib/cache/code-version';
import { stepKeys } from '../../lib/cache/step-keys';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import flights from '../../examples/flights.json';

const spec = parsePipelineSpec(flights);
const dataset = { sha256: 'd1', shards: [0, 1, 2].map((partition) => ({ partition, sha256: `s${partition}` })) };

describe('stepKeys', () => {
  const base = stepKeys('code-1', dataset, spec);

  test('is deterministic and gives every step its own key', () => {
    expect(stepKeys('code-1', dataset, spec)).toEqual(base);
    const all = [base.fit, ...Object.values(base.apply), base.train, base.evaluate];
    expect(new Set(all).size).toBe(all.length);
    for (const k of all) expect(k).toMatch(/^[0-9a-f]{64}$/);
  });

  test('new code changes every key', () => {
    const other = stepKeys('code-2', dataset, spec);
    expect(other.fit).not.toBe(base.fit);
    expect(other.apply[0]).not.toBe(base.apply[0]);
    expect(other.train).not.toBe(base.train);
    expect(other.evaluate).not.toBe(base.evaluate);
  });

  test('one changed shard changes its encoding, training and evaluation, not the other shards', () => {
    // The dataset hash is a hash of the shard hashes, so it changes too.
    const changed = { sha256: 'd2', shards: dataset.shards.map((s) => (s.partition === 1 ? { ...s, sha256: 's1-new' } : s)) };
    const keys = stepKeys('code-1', changed, spec);
    expect(keys.fit).not.toBe(base.fit);
    expect(keys.train).not.toBe(base.train);
    const sameFit = stepKeys('code-1', { ...changed, sha256: 'd1' }, spec);
    expect(sameFit.apply[0]).toBe(base.apply[0]);
    expect(sameFit.apply[2]).toBe(base.apply[2]);
    expect(sameFit.apply[1]).not.toBe(base.apply[1]);
    expect(sameFit.train).not.toBe(base.train);
  });

  test('a model change keeps the transform and encoding keys; a feature change invalidates everything after ingest', () => {
    const moreEpochs = stepKeys('code-1', dataset, { ...spec, model: { ...spec.model, epochs: spec.model.epochs + 1 } });
    expect(moreEpochs.fit).toBe(base.fit);
    expect(moreEpochs.apply).toEqual(base.apply);
    expect(moreEpochs.train).not.toBe(base.train);
    expect(moreEpochs.evaluate).not.toBe(base.evaluate);
    const fewerFeatures = stepKeys('code-1', dataset, { ...spec, features: spec.features.slice(1) });
    expect(fewerFeatures.fit).not.toBe(base.fit);
    expect(fewerFeatures.apply[0]).not.toBe(base.apply[0]);
    const otherLabel = stepKeys('code-1', dataset, { ...spec, label: { column: 'delay', greaterThan: 30 } });
    expect(otherLabel.fit).not.toBe(base.fit);
  });
});

describe('codeVersion', () => {
  test('hashes the code once per process: the same value every call', () => {
    const v = codeVersion();
    expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect(codeVersion()).toBe(v);
  });
});
