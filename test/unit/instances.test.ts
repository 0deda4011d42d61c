import type { FittedTransform } from '../../lib/features/transform';
import { BadRequestError, encodeInstances, instanceFields, parseTimestamp } from '../../lib/serving/instances';

/** A hand-built transform shaped like the flights example. */
function flightsTransform(): FittedTransform {
  return {
    format: 'pipewright.transform/v1',
    key: 'id',
    label: { column: 'delay', greaterThan: 15 },
    split: { testFraction: 0.2, seed: 42 },
    features: [
      { kind: 'numeric', name: 'distance', column: 'distance', offset: 0, width: 1, mean: 1000, std: 500 },
      { kind: 'categorical', name: 'origin', column: 'origin', offset: 1, width: 3, vocabulary: ['BOS', 'SFO'] },
      { kind: 'hourOfDay', name: 'hour', column: 'date', offset: 4, width: 24 },
      { kind: 'dayOfWeek', name: 'day_of_week', column: 'date', offset: 28, width: 7 },
    ],
    inputDim: 35,
    trainRows: 10,
  };
}

const good = { distance: 1500, origin: 'SFO', date: '2001-01-14 21:55' };

function badRequest(instances: unknown): BadRequestError {
  try {
    encodeInstances(flightsTransform(), instances);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).name).toBe('BadRequestError');
    return err as BadRequestError;
  }
  throw new Error('expected a BadRequestError');
}

describe('instanceFields', () => {
  test('lists each raw column once with its expected type', () => {
    expect(instanceFields(flightsTransform())).toEqual([
      { field: 'distance', type: 'number' },
      { field: 'origin', type: 'string' },
      { field: 'date', type: 'timestamp' },
    ]);
  });
});

describe('parseTimestamp', () => {
  const t = Date.UTC(2001, 0, 14, 21, 55);

  test('reads a zone-less ISO date-time as UTC, with a space or a T', () => {
    expect(parseTimestamp('2001-01-14 21:55')).toBe(t);
    expect(parseTimestamp('2001-01-14T21:55')).toBe(t);
    expect(parseTimestamp('2001-01-14T21:55:00.000')).toBe(t);
    expect(parseTimestamp('2001-01-14')).toBe(Date.UTC(2001, 0, 14));
  });

  test('honours an explicit zone', () => {
    expect(parseTimestamp('2001-01-14T21:55:00Z')).toBe(t);
    expect(parseTimestamp('2001-01-14T22:55:00+01:00')).toBe(t);
    expect(parseTimestamp('2001-01-14T13:55:00-08:00')).toBe(t);
    expect(parseTimestamp('2001-01-14 22:55+0100')).toBe(t);
  });

  test('ignores surrounding whitespace, with or without a zone', () => {
    expect(parseTimestamp('  2001-01-14 21:55 ')).toBe(t);
    expect(parseTimestamp(' 2001-01-14T22:55:00+01:00 ')).toBe(t);
    expect(parseTimestamp('2001-01-14T21:55:00Z\n')).toBe(t);
  });

  test('passes finite epoch milliseconds through', () => {
    expect(parseTimestamp(t)).toBe(t);
    expect(parseTimestamp(0)).toBe(0);
  });

  test('rejects what is not a date', () => {
    expect(parseTimestamp('yesterday')).toBeUndefined();
    expect(parseTimestamp('')).toBeUndefined();
    expect(parseTimestamp('2001-13-45 99:99')).toBeUndefined();
    expect(parseTimestamp(Number.NaN)).toBeUndefined();
    expect(parseTimestamp(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseTimestamp(true)).toBeUndefined();
    expect(parseTimestamp(null)).toBeUndefined();
    expect(parseTimestamp({})).toBeUndefined();
  });
});

describe('encodeInstances', () => {
  test('encodes valid instances into one row-major matrix', () => {
    const out = encodeInstances(flightsTransform(), [good, { distance: 750, origin: 'LAX', date: Date.UTC(2001, 0, 20, 0, 5) }]);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out).toHaveLength(2 * 35);
    const expected = new Float32Array(2 * 35);
    // Row 0: (1500 - 1000) / 500 = 1; SFO is vocabulary slot 1; 21:55 -> hour 21; Sunday -> 0.
    expected[0] = 1;
    expected[1 + 1] = 1;
    expected[4 + 21] = 1;
    expected[28 + 0] = 1;
    // Row 1: (750 - 1000) / 500 = -0.5; LAX is out of vocabulary (slot 2); 00:05 -> 0; Saturday -> 6.
    expected[35 + 0] = -0.5;
    expected[35 + 1 + 2] = 1;
    expected[35 + 4 + 0] = 1;
    expected[35 + 28 + 6] = 1;
    expect(Array.from(out)).toEqual(Array.from(expected));
  });

  test('extra fields are ignored', () => {
    const plain = encodeInstances(flightsTransform(), [good]);
    const extra = encodeInstances(flightsTransform(), [{ ...good, tail_number: 'N123', delay: 99 }]);
    expect(Array.from(extra)).toEqual(Array.from(plain));
  });

  test('"instances" must be an array', () => {
    for (const value of [undefined, null, {}, { distance: 1 }, 'x', 3]) {
      expect(badRequest(value).message).toBe('"instances" must be an array of objects, e.g. {"instances":[{...}]}');
    }
  });

  test('"instances" must not be empty', () => {
    expect(badRequest([]).message).toBe('"instances" is empty; send at least one instance');
  });

  test('"instances" is capped at 10000 per request', () => {
    expect(badRequest(new Array(10001).fill(good)).message).toBe('"instances" has 10001 entries; send at most 10000 per request');
    expect(encodeInstances(flightsTransform(), new Array(10000).fill(good))).toHaveLength(10000 * 35);
  });

  test('each instance must be an object', () => {
    expect(badRequest([good, [1500, 'SFO']]).message).toBe('instances[1] must be an object keyed by feature column');
    expect(badRequest([null]).message).toBe('instances[0] must be an object keyed by feature column');
    expect(badRequest([good, good, 'SFO']).message).toBe('instances[2] must be an object keyed by feature column');
  });

  test('a missing or null field is named with its path', () => {
    const { distance: _distance, ...noDistance } = good;
    expect(badRequest([noDistance]).message).toBe('instances[0].distance is missing');
    expect(badRequest([good, { ...good, origin: null }]).message).toBe('instances[1].origin is missing');
    const { date: _date, ...noDate } = good;
    expect(badRequest([good, good, noDate]).message).toBe('instances[2].date is missing');
  });

  test('a numeric field must be a finite number', () => {
    expect(badRequest([{ ...good, distance: '1500' }]).message).toBe('instances[0].distance must be a number, got "1500"');
    expect(badRequest([{ ...good, distance: true }]).message).toBe('instances[0].distance must be a number, got true');
    expect(badRequest([good, { ...good, distance: [1] }]).message).toBe('instances[1].distance must be a number, got [1]');
    expect(badRequest([{ ...good, distance: Number.NaN }]).message).toMatch(/^instances\[0\]\.distance must be a number/);
  });

  test('a categorical field must be a string', () => {
    expect(badRequest([{ ...good, origin: 7 }]).message).toBe('instances[0].origin must be a string, got 7');
  });

  test('a date field must be an ISO date-time or epoch milliseconds', () => {
    expect(badRequest([{ ...good, date: 'yesterday' }]).message).toBe(
      'instances[0].date must be an ISO-8601 date-time (e.g. "2001-01-14 21:55") or epoch milliseconds, got "yesterday"',
    );
    expect(badRequest([good, { ...good, date: { day: 14 } }]).message).toMatch(/^instances\[1\]\.date must be an ISO-8601 date-time/);
  });

  test('the first problem in row order is the one reported', () => {
    const err = badRequest([good, { origin: 3 }, { distance: 'x' }]);
    expect(err.message).toBe('instances[1].distance is missing');
  });
});
