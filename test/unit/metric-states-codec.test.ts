import { createHash } from 'node:crypto';
import type { SliceSpec } from '../../contracts/evaluation';
import { PipelineInputError } from '../../lib/errors';
import { evaluationReport } from '../../lib/evaluation/build-report';
import { sliceFeature, sliceValueName, type SliceableFeature } from '../../lib/evaluation/slice-values';
import { EvaluationAccumulator, mergeEvaluationStates, type EvaluationState } from '../../lib/evaluation/states/evaluation-state';
import { StateAccumulator, metricsOf, rowsOf, type StateHead } from '../../lib/evaluation/states/metric-state';
import { METRIC_STATE_FORMAT, decodeState, encodeState } from '../../lib/evaluation/states/state-codec';
import type { FittedTransformV2 } from '../../lib/features/transform-format';
import { mulberry32 } from '../../lib/random';
import { everyKindTransform } from './fixtures/encoded-shards';

/**
 * Metric-state files (round trip, determinism, refusal of corrupt and foreign files), slice states
 * and the names of slice values, and the report built from a merged state.
 */

const transform: FittedTransformV2 = everyKindTransform();
const featureCount = transform.features.length;
const ORIGIN = transform.features.findIndex((f) => f.name === 'origin');
const HOUR = transform.features.findIndex((f) => f.name === 'hour');

interface Rows {
  outputs: Float32Array;
  labels: Float32Array;
  codes: Float32Array;
  rows: number;
  units: number;
}

/** Random scored rows for a head, with an origin code 0..5 and an hour code 0..23 per row. */
function randomRows(head: StateHead, n: number, seed: number): Rows {
  const random = mulberry32(seed);
  const units = head.task === 'multiclass' ? head.classes.length : 1;
  const outputs = new Float32Array(n * units);
  const labels = new Float32Array(n);
  const codes = new Float32Array(n * featureCount);
  for (let r = 0; r < n; r++) {
    if (head.task === 'multiclass') {
      labels[r] = Math.floor(random() * units);
      for (let k = 0; k < units; k++) outputs[r * units + k] = random();
    } else if (head.task === 'binary') {
      labels[r] = random() < 0.3 ? 1 : 0;
      outputs[r] = Math.round((random() * 0.7 + 0.3 * labels[r]!) * 50) / 50;
    } else {
      labels[r] = random() * 2 - 1;
      outputs[r] = labels[r]! + random() - 0.5;
    }
    // Origin skewed towards low codes, so the slice's top values are clear.
    codes[r * featureCount + ORIGIN] = Math.min(5, Math.floor(-Math.log(random() + 1e-9)));
    codes[r * featureCount + HOUR] = Math.floor(random() * 24);
  }
  return { outputs, labels, codes, rows: n, units };
}

function take(rows: Rows, picked: number[]): Rows {
  const { units } = rows;
  return {
    outputs: Float32Array.from(picked.flatMap((r) => Array.from(rows.outputs.subarray(r * units, (r + 1) * units)))),
    labels: Float32Array.from(picked.map((r) => rows.labels[r]!)),
    codes: Float32Array.from(picked.flatMap((r) => Array.from(rows.codes.subarray(r * featureCount, (r + 1) * featureCount)))),
    rows: picked.length,
    units,
  };
}

const SLICES = [
  { feature: 'origin', index: ORIGIN },
  { feature: 'hour', index: HOUR },
];

function evaluationStateOf(head: StateHead, rows: Rows, batch = 97): EvaluationState {
  const acc = new EvaluationAccumulator(head, SLICES);
  for (let at = 0; at < rows.rows; at += batch) {
    const picked = Array.from({ length: Math.min(batch, rows.rows - at) }, (_, i) => at + i);
    acc.add({ ...take(rows, picked), featureCount });
  }
  return acc.state();
}

const HEADS: Array<[string, StateHead]> = [
  ['binary', { task: 'binary' }],
  ['multiclass', { task: 'multiclass', classes: ['x', 'y', 'z'] }],
  ['regression', { task: 'regression', scale: { mean: 3, std: 2 } }],
];

describe('slice states', () => {
  test.each(HEADS)('%s: each value of a slice feature holds the state of its rows; shards merge into the whole', (_task, head) => {
    const rows = randomRows(head, 1500, 4);
    const state = evaluationStateOf(head, rows);
    expect(state.slices.map((s) => s.feature)).toEqual(['origin', 'hour']);
    const origin = state.slices[0]!;
    expect([...origin.values.keys()]).toEqual([...origin.values.keys()].sort((a, b) => a - b));
    for (const [code, s] of origin.values) {
      const picked = Array.from({ length: rows.rows }, (_, r) => r).filter((r) => rows.codes[r * featureCount + ORIGIN] === code);
      const direct = new StateAccumulator(head);
      direct.add(take(rows, picked));
      expect(metricsOf(s)).toEqual(metricsOf(direct.state()));
    }
    // Two shards' states merged: the same rows, slice values and (binary, multiclass) the same figures.
    const half = Array.from({ length: 700 }, (_, r) => r);
    const rest = Array.from({ length: rows.rows - 700 }, (_, r) => r + 700);
    const merged = mergeEvaluationStates(evaluationStateOf(head, take(rows, half)), evaluationStateOf(head, take(rows, rest)));
    expect(rowsOf(merged.overall)).toBe(1500);
    merged.slices.forEach((slice, i) => {
      expect([...slice.values.keys()]).toEqual([...state.slices[i]!.values.keys()]);
      for (const [code, s] of slice.values) {
        expect(rowsOf(s)).toBe(rowsOf(state.slices[i]!.values.get(code)!));
        if (head.task !== 'regression') expect({ ...metricsOf(s), logLoss: 0 }).toEqual({ ...metricsOf(state.slices[i]!.values.get(code)!), logLoss: 0 });
      }
    });
  });

  test('states sliced by other features do not merge', () => {
    const a = new EvaluationAccumulator({ task: 'binary' }, [SLICES[0]!]).state();
    const b = new EvaluationAccumulator({ task: 'binary' }, SLICES).state();
    expect(() => mergeEvaluationStates(a, b)).toThrow('cannot merge metric states sliced by [origin] and by [origin, hour]');
  });
});

describe('the metric-state file', () => {
  test.each(HEADS)('%s: round trip, and the same bytes for the same state', (_task, head) => {
    const state = evaluationStateOf(head, randomRows(head, 800, 9));
    const bytes = encodeState(state);
    expect(Buffer.from(encodeState(state)).equals(Buffer.from(bytes))).toBe(true);
    const back = decodeState(bytes);
    expect(back).toEqual(state);
    expect(Buffer.from(encodeState(back)).equals(Buffer.from(bytes))).toBe(true);
    // From an unaligned copy, as a file read into a pooled buffer may be.
    const shifted = new Uint8Array(bytes.byteLength + 3);
    shifted.set(bytes, 3);
    expect(decodeState(shifted.subarray(3))).toEqual(state);
  });

  test('binary: far smaller than JSON of the same table (a float32 and two u32 per distinct score)', () => {
    const rows = randomRows({ task: 'binary' }, 5000, 1);
    for (let r = 0; r < rows.rows; r++) rows.outputs[r] = Math.fround(r / 5000); // 5000 distinct
    const acc = new EvaluationAccumulator({ task: 'binary' }, []);
    acc.add({ ...rows, featureCount });
    const bytes = encodeState(acc.state());
    expect(bytes.byteLength).toBeLessThan(5000 * 12 + 1000);
  });

  test('a corrupt, truncated, foreign or newer file is refused, naming the problem', () => {
    const state = evaluationStateOf({ task: 'binary' }, randomRows({ task: 'binary' }, 300, 2));
    const bytes = encodeState(state);
    const flipped = bytes.slice();
    flipped[flipped.length - 5]! ^= 0x40;
    expect(() => decodeState(flipped, 'shard 3')).toThrow(
      'shard 3 is not a readable metric state: its body does not match the checksum in its header (corrupt)',
    );
    expect(() => decodeState(bytes.subarray(0, bytes.length - 8), 'shard 3')).toThrow(/truncated or padded/);
    expect(() => decodeState(bytes.subarray(0, 20), 'shard 3')).toThrow(/truncated/);
    expect(() => decodeState(Buffer.from('{"format":"json"}'), 'shard 3')).toThrow('does not start with "PWMSTATE"');
    expect(() =>
      decodeState(
        withHeader(bytes, (h) => ({ ...h, format: 'pipewright.metric-state/v9' })),
        'shard 3',
      ),
    ).toThrow(`shard 3 has format "pipewright.metric-state/v9"; this pipewright reads ${METRIC_STATE_FORMAT}`);
    // A well-formed file whose arrays disagree (as another layout would): caught by the shape checks.
    expect(() =>
      decodeState(
        withHeader(bytes, (h) => {
          const overall = h.overall as { positives: { length: number } };
          overall.positives.length -= 1;
          return h;
        }),
      ),
    ).toThrow(/a binary state of \d+ scores but \d+ and \d+ counts/);
    expect(() =>
      decodeState(
        withHeader(bytes, (h) => {
          (h.overall as { task: string }).task = 'ranking';
          return h;
        }),
      ),
    ).toThrow('a state of the unknown task "ranking"');
  });
});

/** The file with its JSON header rewritten (the body, and so its checksum, unchanged). */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => Record<string, unknown>): Uint8Array {
  const length = Buffer.from(bytes).readUInt32LE(8);
  const header = edit(JSON.parse(Buffer.from(bytes.subarray(12, 12 + length)).toString('utf8')) as Record<string, unknown>);
  const body = bytes.subarray(Math.ceil((12 + length) / 8) * 8);
  expect(createHash('sha256').update(body).digest('hex')).toBe((header.body as { sha256: string }).sha256);
  const json = Buffer.from(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 8) * 8;
  const out = Buffer.alloc(start + body.length);
  out.write('PWMSTATE', 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  out.set(body, start);
  return out;
}

describe('slice values', () => {
  const feature = (name: string): SliceableFeature => sliceFeature(transform, name).feature;

  test('each kind names its codes', () => {
    // origin: vocabulary a..e, then the out-of-vocabulary slot.
    expect([0, 4, 5].map((c) => sliceValueName(feature('origin'), c))).toEqual(['a', 'e', '(other)']);
    expect([0, 7, 23].map((c) => sliceValueName(feature('hour'), c))).toEqual(['00:00', '07:00', '23:00']);
    expect([0, 6].map((c) => sliceValueName(feature('weekday'), c))).toEqual(['Sunday', 'Saturday']);
    // dist_q: boundaries 1, 2, 3; bucket i holds (b[i-1], b[i]].
    expect([0, 1, 2, 3].map((c) => sliceValueName(feature('dist_q'), c))).toEqual(['≤ 1', '(1, 2]', '(2, 3]', '> 3']);
    // tail: 8 hashed buckets + NULL's; route: 4 + NULL's.
    expect([0, 7, 8].map((c) => sliceValueName(feature('tail'), c))).toEqual(['bucket 0', 'bucket 7', '(null)']);
    expect([3, 4].map((c) => sliceValueName(feature('route'), c))).toEqual(['bucket 3', '(null)']);
    expect(sliceValueName(feature('origin'), 17)).toBe('code 17');
  });

  test('a numeric, timestamp or unknown feature cannot be sliced: a PipelineInputError naming it', () => {
    expect(() => sliceFeature(transform, 'amount')).toThrow(PipelineInputError);
    expect(() => sliceFeature(transform, 'amount')).toThrow('evaluation.slices: feature "amount" is numeric, whose values are not categories');
    expect(() => sliceFeature(transform, 'when')).toThrow('feature "when" is timestamp');
    expect(() => sliceFeature(transform, 'nope')).toThrow(
      'evaluation.slices: the transform has no feature "nope"; slice by a feature of kind categorical, hashed, cross, quantileBuckets, hourOfDay, dayOfWeek (this transform\'s: origin, hour, weekday, dist_q, tail, route)',
    );
  });
});

describe('the report of a merged state', () => {
  test('binary: curves, top slice values by rows with their metrics, the rest counted', () => {
    const head: StateHead = { task: 'binary' };
    const rows = randomRows(head, 2000, 12);
    const state = evaluationStateOf(head, rows);
    const specs: SliceSpec[] = [
      { feature: 'origin', top: 2 },
      { feature: 'hour', top: 100 },
    ];
    const report = evaluationReport(state, transform, specs);
    expect(report.task).toBe('binary');
    expect(report.rows).toBe(2000);
    expect(report.metrics).toEqual(metricsOf(state.overall));
    expect(report.binary!.thresholds).toHaveLength(21);
    const origin = report.slices[0]!;
    const counts = [0, 1, 2, 3, 4, 5].map((c) => Array.from({ length: 2000 }, (_, r) => r).filter((r) => rows.codes[r * featureCount + ORIGIN] === c).length);
    expect(origin.values.map((v) => [v.value, v.rows])).toEqual([
      ['a', counts[0]],
      ['b', counts[1]],
    ]);
    expect(origin.otherValues).toBe(4);
    expect(origin.otherRows).toBe(2000 - counts[0]! - counts[1]!);
    expect(origin.values[0]!.metrics).toEqual(metricsOf(state.slices[0]!.values.get(0)!));
    expect(report.slices[1]!.values).toHaveLength(24);
    expect(report.slices[1]!.otherValues).toBe(0);
    // The JSON the artifact holds parses back to the report (NaN figures would read as null).
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  test('multiclass confusion, regression error quantiles; a slice the states lack is an error', () => {
    const mc = evaluationReport(evaluationStateOf(HEADS[1]![1], randomRows(HEADS[1]![1], 300, 3)), transform, []);
    expect(mc.multiclass!.classes).toEqual(['x', 'y', 'z']);
    expect(mc.multiclass!.confusion.flat().reduce((a, b) => a + b, 0)).toBe(300);
    const rg = evaluationReport(evaluationStateOf(HEADS[2]![1], randomRows(HEADS[2]![1], 300, 3)), transform, []);
    expect(rg.regression!.absoluteErrorQuantiles.map((q) => q.q)).toEqual([0.5, 0.75, 0.9, 0.95, 0.99]);
    expect(Math.abs(rg.regression!.meanError!)).toBeLessThan(0.2);
    const unsliced = new EvaluationAccumulator({ task: 'binary' }, []).state();
    expect(() => evaluationReport(unsliced, transform, [{ feature: 'origin', top: 3 }])).toThrow(
      'the metric states hold no slice by "origin" (they hold none)',
    );
  });
});
