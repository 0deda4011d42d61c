import type { ModelVersionRow } from '../../lib/registry/model-rows';
import { aliasTag, blessingLines, blessingTag, versionDetailLines, versionListLines } from '../../scripts/client/model-lines';

const base: ModelVersionRow = {
  name: 'flights',
  version: 2,
  runId: 'flights-1',
  stage: 'registered',
  backend: 'wasm',
  metrics: { auc: 0.76, logLoss: 0.42, accuracy: 0.82, positiveRate: 0.2, rows: 1000 },
  modelUri: 'file:///m.bin',
  modelSha256: 'a'.repeat(64),
  transformUri: 'file:///t.json',
  transformSha256: 'b'.repeat(64),
  datasetSha256: 'c'.repeat(64),
  createdAt: new Date('2026-11-30T00:00:00Z'),
  deployedAt: null,
  aliases: [],
  lineage: null,
  blessing: null,
  evaluationUri: null,
  importance: null,
  training: null,
  crossValidation: null,
  search: null,
};

test('a version registered before lineage and blessings were kept says so', () => {
  const text = versionDetailLines(base).join('\n');
  expect(text).toMatch(/aliases\s+\(none\)/);
  expect(text).toMatch(/blessing\s+\(not recorded\)/);
  expect(text).toContain('(full lineage not recorded)');
  expect(text).not.toContain('importance');
  expect(versionListLines(base)[0]).toBe('flights v2  AUC 0.7600 · log loss 0.4200 · accuracy 0.8200 · 1000 test rows (20.0% positive)');
});

test('aliases, blessing with its checks, importance top features', () => {
  const row: ModelVersionRow = {
    ...base,
    aliases: ['candidate', 'production'],
    blessing: {
      blessed: false,
      checks: [
        { metric: 'auc', kind: 'value', passed: true, value: 0.76, message: 'auc 0.760 ≥ 0.6' },
        { metric: 'auc', kind: 'change', passed: false, value: 0.76, baseline: 0.8, message: 'auc 0.760 vs production 0.800: dropped 0.040' },
      ],
      reason: 'auc dropped',
    },
    importance: {
      metric: 'auc',
      baseline: 0.76,
      rows: 500,
      repeats: 2,
      features: Array.from({ length: 12 }, (_, i) => ({ feature: `f${i}`, drop: 0.1 - i / 200, std: 0.001, drops: [] })),
    },
  };
  expect(aliasTag(row)).toBe('[candidate, production]');
  expect(blessingTag(row)).toBe('not blessed');
  expect(blessingLines(row.blessing!)).toEqual(['not blessed: auc dropped', '  ✓ auc 0.760 ≥ 0.6', '  ✗ auc 0.760 vs production 0.800: dropped 0.040']);
  const text = versionDetailLines(row, 3).join('\n');
  expect(text).toMatch(/f0\s+0\.1000\s+± 0\.0010/);
  expect(text).toContain('(9 more features)');
  expect(text).not.toContain('f3 ');
  expect(versionListLines(row)[0]).toContain('flights v2  [candidate, production] not blessed  AUC');
});
