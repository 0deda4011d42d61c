import type { RunDetail } from '../../lib/registry/run-log';
import type { ModelVersionRow } from '../../lib/registry/model-rows';
import { parsePipelineSpec } from '../../lib/spec/pipeline-spec';
import { compareRunLines, compareTable, difference, figure, hashComparison, metricFigures, pairRows, type ComparedRun } from '../../scripts/client/run-compare';
import { textTable } from '../../scripts/client/text-table';
import flights from '../../examples/flights.json';

const spec = parsePipelineSpec(flights);

function model(over: Partial<ModelVersionRow>): ModelVersionRow {
  return {
    name: 'flights',
    version: 1,
    runId: 'r1',
    stage: 'registered',
    backend: 'wasm',
    metrics: { auc: 0.75, logLoss: 0.42, accuracy: 0.82, positiveRate: 0.2, rows: 1000 },
    modelUri: 'file:///m',
    modelSha256: 'm'.repeat(64),
    transformUri: 'file:///t',
    transformSha256: 't'.repeat(64),
    datasetSha256: 'd'.repeat(64),
    createdAt: new Date(0),
    deployedAt: null,
    aliases: [],
    lineage: null,
    blessing: null,
    evaluationUri: null,
    importance: null,
    training: null,
    crossValidation: null,
    search: null,
    ...over,
  };
}

function run(over: Partial<RunDetail>): ComparedRun {
  return {
    runId: 'flights-a',
    status: 'succeeded',
    metrics: { auc: 0.75, logLoss: 0.42, accuracy: 0.82, positiveRate: 0.2, rows: 1000 },
    stageSeconds: { ingest: 5.3, train: 14.4 },
    spec,
    dataset: null,
    model: null,
    ...over,
  };
}

describe('figures and differences', () => {
  test('integers as they are, others to 4 decimals; undefined figures n/a, absent ones -', () => {
    expect(figure(1000)).toBe('1000');
    expect(figure(0.123456)).toBe('0.1235');
    expect(figure(null)).toBe('n/a');
    expect(figure(NaN)).toBe('n/a');
    expect(figure(undefined)).toBe('-');
  });

  test('b − a with its sign, 0 when equal at the shown precision, empty when a side has no figure', () => {
    expect(difference(0.75, 0.7612)).toBe('+0.0112');
    expect(difference(0.42, 0.4)).toBe('-0.0200');
    expect(difference(1000, 997)).toBe('-3');
    expect(difference(0.5, 0.50000001)).toBe('0');
    expect(difference(null, 0.5)).toBe('');
    expect(difference(0.5, undefined)).toBe('');
  });
});

describe('the metrics table', () => {
  test('binary metrics: every numeric figure, in the record’s order; the task tag left out', () => {
    expect(metricFigures({ task: 'binary', auc: 0.7, logLoss: 0.5, accuracy: 0.8, positiveRate: 0.2, rows: 10 }).map(([k]) => k)).toEqual([
      'auc',
      'logLoss',
      'accuracy',
      'positiveRate',
      'rows',
    ]);
  });

  test('a failed run, or one still running, has no figures', () => {
    expect(metricFigures({ error: 'boom', stage: 'train' })).toEqual([]);
    expect(metricFigures(null)).toEqual([]);
  });

  test('rows pair the names either side has: a’s order, then b’s own', () => {
    expect(
      pairRows(
        [
          ['auc', 0.7],
          ['rows', 10],
        ],
        [
          ['rmse', 2],
          ['auc', 0.8],
        ],
      ),
    ).toEqual([
      { name: 'auc', a: 0.7, b: 0.8 },
      { name: 'rows', a: 10, b: undefined },
      { name: 'rmse', a: undefined, b: 2 },
    ]);
  });

  test('the table is aligned, numbers right-aligned, with b − a last', () => {
    const lines = compareTable('metric', 'a', 'b', [
      { name: 'auc', a: 0.75, b: 0.7612 },
      { name: 'rows', a: 1000, b: 997 },
    ]);
    expect(lines).toEqual(['metric       a       b    b − a', 'auc     0.7500  0.7612  +0.0112', 'rows      1000     997       -3']);
  });
});

describe('hashComparison', () => {
  test('equal, differ, or unknown when a run has no record', () => {
    expect(hashComparison('a'.repeat(64), 'a'.repeat(64))).toBe(`equal (${'a'.repeat(12)})`);
    expect(hashComparison('a'.repeat(64), 'b'.repeat(64))).toBe(`differ: ${'a'.repeat(12)} vs ${'b'.repeat(12)}`);
    expect(hashComparison(undefined, 'b'.repeat(64))).toBe(`unknown (not recorded vs ${'b'.repeat(12)})`);
  });
});

describe('compareRunLines', () => {
  test('two runs: metrics with differences, stage seconds, same data, and the spec fields that changed', () => {
    const a = run({ model: model({}) });
    const b = run({
      runId: 'flights-b',
      metrics: { auc: 0.7612, logLoss: 0.41, accuracy: 0.83, positiveRate: 0.2, rows: 1000 },
      stageSeconds: { ingest: 4.1, train: 20 },
      spec: parsePipelineSpec({ ...flights, model: { ...(flights.model as object), epochs: 3 } }),
      model: model({ version: 2, runId: 'flights-b', transformSha256: 'u'.repeat(64), blessing: { blessed: true, checks: [], reason: 'ok' } }),
    });
    const text = compareRunLines(a, b).join('\n');
    expect(text).toContain('run     flights-a   flights-b');
    expect(text).toMatch(/auc\s+0\.7500\s+0\.7612\s+\+0\.0112/);
    expect(text).toMatch(/rows\s+1000\s+1000\s+0/);
    expect(text).toMatch(/train\s+14\.4\s+20\.0\s+\+5\.6/);
    expect(text).toContain(`dataset    equal (${'d'.repeat(12)})`);
    expect(text).toContain(`transform  differ: ${'t'.repeat(12)} vs ${'u'.repeat(12)}`);
    expect(text).toContain('flights v2 · blessed');
    expect(text).toContain('spec: 1 difference');
    expect(text).toMatch(/\$\.model\.epochs\s+2\s+→\s+3/);
  });

  test('a failed run: its stage in the status, no metrics table, no model', () => {
    const failed = run({ runId: 'flights-c', status: 'failed', metrics: { error: 'no table', stage: 'ingest' }, stageSeconds: null });
    const lines = compareRunLines(failed, failed);
    expect(lines.join('\n')).toContain('failed (in ingest)');
    expect(lines).toContain('no metrics to compare (a run did not finish evaluation)');
    expect(lines).toContain('spec: identical');
    expect(lines.join('\n')).toContain('(none registered)');
  });
});

test('textTable aligns columns and trims trailing space', () => {
  expect(
    textTable([
      ['a', 'bb', 'c'],
      ['ddd', 'e', ''],
    ]),
  ).toEqual(['a    bb  c', 'ddd  e']);
});
