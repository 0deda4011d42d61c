import { murmur3Text } from '../../lib/features/feature-hash';
import { upgradeTransform, type FittedFeature, type FittedTransform, type FittedTransformV2 } from '../../lib/features/transform';
import { BadRequestError, encodeInstanceCodes, encodeInstances, instanceFields, parseTimestamp } from '../../lib/serving/instances';

/** A hand-built v1 transform shaped like the flights example: the form of every model registered before v2. */
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

  test('the model server sends codes (one per feature, as an encoded shard holds them); the dense rows are their expansion', () => {
    const instances = [good, { distance: 750, origin: 'LAX', date: Date.UTC(2001, 0, 20, 0, 5) }];
    const { codes, rows } = encodeInstanceCodes(flightsTransform(), instances);
    expect(rows).toBe(2);
    // distance scaled; origin's vocabulary slot (2: out of vocabulary); hour; weekday.
    expect(Array.from(codes)).toEqual([1, 1, 21, 0, -0.5, 2, 0, 6]);
  });

  test('a field the model does not take is refused by name, with the fields it does take', () => {
    expect(badRequest([good, { ...good, tail_number: 'N123' }]).message).toBe(
      'instances[1] has the field "tail_number", which the model does not take; its fields are distance, origin, date',
    );
    const longName = 'x'.repeat(100_000);
    expect(badRequest([{ ...good, [longName]: 1 }]).message.length).toBeLessThan(200);
  });

  test('a value too large for the model to encode is a 400 naming it, not a null prediction', () => {
    // (1e308 - 1000) / 500 is finite as a double but overflows the float32 code the model reads.
    expect(badRequest([{ ...good, distance: 1e308 }]).message).toBe(
      'instances[0].distance is 1e+308, too far outside the values feature "distance" was trained on to encode (it overflows a 32-bit float); check the value and its units',
    );
    // JSON.parse reads 1e309 as Infinity: the message names it rather than printing JSON's null.
    expect(badRequest([{ ...good, distance: JSON.parse('1e309') as number }]).message).toBe(
      'instances[0].distance must be a number, got Infinity (a number beyond the range of a double)',
    );
    expect(badRequest([{ ...good, date: 1e300 }]).message).toMatch(/^instances\[0\]\.date must be an ISO-8601 date-time .* got 1e\+300$/);
  });

  test('a bad value is quoted short, however large or deep it is', () => {
    const huge = 'A'.repeat(8 * 1024 * 1024);
    const message = badRequest([{ ...good, distance: huge }]).message;
    expect(message).toBe(`instances[0].distance must be a number, got "${'A'.repeat(60)}"… (8388608 characters)`);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(badRequest([{ ...good, distance: deep }]).message).toBe('instances[0].distance must be a number, got [[[[…]]]]');
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
    expect(badRequest([good, [1500, 'SFO']]).message).toBe('instances[1] must be an object keyed by feature column, got [1500,"SFO"]');
    expect(badRequest([null]).message).toBe('instances[0] must be an object keyed by feature column, got null');
    expect(badRequest([good, good, 'SFO']).message).toBe('instances[2] must be an object keyed by feature column, got "SFO"');
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

describe('a v1 transform (models registered before v2)', () => {
  test('encodes exactly as its v2 form', () => {
    const instances = [good, { distance: 750, origin: 'LAX', date: Date.UTC(2001, 0, 20, 0, 5) }];
    expect(flightsTransform().format).toBe('pipewright.transform/v1');
    expect(Array.from(encodeInstances(upgradeTransform(flightsTransform()), instances))).toEqual(Array.from(encodeInstances(flightsTransform(), instances)));
  });
});

/** A hand-built v2 transform with every new kind. */
function kindsTransform(): FittedTransformV2 {
  const features: FittedFeature[] = [
    { kind: 'numeric', name: 'amount', column: 'amount', offset: 0, width: 1, impute: { strategy: 'median', value: 9 }, log1p: true, scale: { kind: 'none' } },
    { kind: 'numeric', name: 'dist', column: 'dist', offset: 1, width: 1, clip: { max: 1000 }, scale: { kind: 'minMax', min: 0, max: 2000 } },
    { kind: 'quantileBuckets', name: 'dist_q', column: 'dist', offset: 2, width: 3, boundaries: [100, 500] },
    { kind: 'hashed', name: 'tail', column: 'tail', offset: 5, width: 5, buckets: 4 },
    { kind: 'cross', name: 'route', columns: ['origin', 'dest'], offset: 10, width: 9, buckets: 8 },
    { kind: 'timestamp', name: 'when', column: 'date', offset: 19, width: 4, parts: ['weekday', 'month'], cyclical: true },
  ];
  return {
    format: 'pipewright.transform/v2',
    key: 'id',
    label: { column: 'y', greaterThan: 0 },
    split: { testFraction: 0.2, seed: 1 },
    features,
    inputDim: 23,
    trainRows: 5,
  };
}

const full = { amount: Math.E - 1, dist: 300, tail: 'abc', origin: 'BOS', dest: 'SFO', date: '2010-03-07 12:00' };

function kindsError(instances: unknown[]): string {
  try {
    encodeInstances(kindsTransform(), instances);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return (err as Error).message;
  }
  throw new Error('expected a BadRequestError');
}

describe('the new kinds at serving', () => {
  test('instanceFields lists each column once; an imputed one is optional', () => {
    expect(instanceFields(kindsTransform())).toEqual([
      { field: 'amount', type: 'number', optional: true },
      { field: 'dist', type: 'number' },
      { field: 'tail', type: 'string' },
      { field: 'origin', type: 'string' },
      { field: 'dest', type: 'string' },
      { field: 'date', type: 'timestamp' },
    ]);
  });

  test('encodes every kind to its slots', () => {
    const out = encodeInstances(kindsTransform(), [full]);
    const expected = new Float32Array(23);
    expected[0] = 1; // log1p(e - 1)
    expected[1] = 0.15; // 300 / 2000
    expected[2 + 1] = 1; // 300 is in (100, 500]
    expected[5 + (0xb3dd93fa % 4)] = 1; // murmur3("abc") mod 4
    expected[10 + (murmur3Text('SFO', murmur3Text('BOS', 0)) % 8)] = 1;
    // 2010-03-07 was a Sunday (weekday 0: angle 0) in March (month 2: angle π/3).
    expected[19] = 0;
    expected[20] = 1;
    expected[21] = Math.sin(Math.PI / 3);
    expected[22] = Math.cos(Math.PI / 3);
    expect(Array.from(out)).toEqual(Array.from(expected));
  });

  test('an imputed field may be left out or null: it gets the fitted value', () => {
    const { amount: _amount, ...without } = full;
    const [left, nulled, nine] = [without, { ...full, amount: null }, { ...full, amount: 9 }].map((i) => Array.from(encodeInstances(kindsTransform(), [i])));
    expect(left).toEqual(nine);
    expect(nulled).toEqual(nine);
    expect(left![0]).toBeCloseTo(Math.log1p(9), 6);
  });

  test('a missing or ill-typed field is named, whatever kind reads it', () => {
    const { dist: _dist, ...noDist } = full;
    expect(kindsError([noDist])).toBe('instances[0].dist is missing');
    expect(kindsError([{ ...full, dist: '300' }])).toBe('instances[0].dist must be a number, got "300"');
    expect(kindsError([{ ...full, amount: 'lots' }])).toBe('instances[0].amount must be a number, got "lots"');
    expect(kindsError([full, { ...full, tail: 12 }])).toBe('instances[1].tail must be a string, got 12');
    expect(kindsError([{ ...full, dest: null }])).toBe('instances[0].dest is missing');
    expect(kindsError([{ ...full, origin: ['BOS'] }])).toBe('instances[0].origin must be a string, got ["BOS"]');
    expect(kindsError([{ ...full, date: 'tomorrow' }])).toBe(
      'instances[0].date must be an ISO-8601 date-time (e.g. "2001-01-14 21:55") or epoch milliseconds, got "tomorrow"',
    );
  });

  test('a value log1p cannot take is refused with the reason', () => {
    expect(kindsError([{ ...full, amount: -1 }])).toBe('instances[0].amount is -1, but feature "amount" takes its log1p, which needs a value greater than -1');
    expect(kindsError([full, { ...full, amount: -4.5 }])).toBe(
      'instances[1].amount is -4.5, but feature "amount" takes its log1p, which needs a value greater than -1',
    );
  });

  test('clip applies at serving as in training', () => {
    const far = encodeInstances(kindsTransform(), [{ ...full, dist: 5000 }]);
    expect(far[1]).toBe(0.5); // clipped to 1000, / 2000
    expect(far[2 + 2]).toBe(1); // the bucket sees the raw value
  });
});
