import { insertValues, toReal } from '../../lib/serving/prediction-log-insert';
import { pgSafeText, toJsonText } from '../../lib/serving/prediction-log-json';
import { PredictionLog, type PredictionLogPool, type PredictionLogRecord } from '../../lib/serving/prediction-log';

/**
 * PredictionLog against a fake pool whose query the test controls: what a flush sends (one
 * statement, its column arrays), when flushes start (fake timers), and what happens when the
 * database hangs, fails, or refuses a value.
 */

interface Call {
  text: string;
  values: unknown[][];
}

/** A pool whose query answers with `answer(call)`; it records every call and how many ran at once. */
class FakePool {
  readonly calls: Call[] = [];
  running = 0;
  maxRunning = 0;
  answer: (call: Call) => Promise<unknown> = () => Promise.resolve({ rows: [] });

  readonly query = (text: string, values: unknown[][]): Promise<unknown> => {
    const call = { text, values };
    this.calls.push(call);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const done = (): void => {
      this.running -= 1;
    };
    const answer = this.answer(call);
    answer.then(done, done);
    return answer;
  };

  asPool(): PredictionLogPool {
    return this as unknown as PredictionLogPool;
  }

  /** Row counts of every statement sent so far. */
  rowsPerCall(): number[] {
    return this.calls.map((c) => c.values[0]!.length);
  }
}

/** A promise the test settles by hand: a query that hangs until released. */
function gate(): { promise: Promise<unknown>; release: () => void; fail: (err: Error) => void } {
  let release!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<unknown>((resolve, reject) => {
    release = () => resolve({ rows: [] });
    fail = reject;
  });
  return { promise, release, fail };
}

function record(requestId: string, rows: number, over: Partial<PredictionLogRecord> = {}): PredictionLogRecord {
  return {
    requestId,
    model: 'm',
    version: 3,
    role: 'production',
    instances: Array.from({ length: rows }, (_, i) => ({ distance: 100 + i, origin: 'SFO' })),
    predictions: Array.from({ length: rows }, (_, i) => i / 10),
    latencyMs: 4.5,
    ...over,
  };
}

function pgError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('batching', () => {
  test('a flush writes every queued row in one unnest statement, one row per instance', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool());
    log.log(record('a', 2));
    log.log(record('b', 3, { role: 'shadow', version: 4 }));
    log.log(record('c', 1));
    expect(pool.calls).toHaveLength(0); // log() does no I/O itself
    expect(log.stats()).toEqual({ logged: 0, dropped: 0, queued: 6, failedFlushes: 0 });

    await log.flush();

    expect(pool.calls).toHaveLength(1);
    const [call] = pool.calls;
    expect(call!.text).toMatch(/INSERT INTO pipewright_predictions/);
    expect(call!.text).toMatch(/unnest\(\$1::text\[\]/);
    const [requestIds, rows, models, versions, roles, at, features, predictions, latencies] = call!.values;
    expect(requestIds).toEqual(['a', 'a', 'b', 'b', 'b', 'c']);
    expect(rows).toEqual([0, 1, 0, 1, 2, 0]);
    expect(models).toEqual(Array(6).fill('m'));
    expect(versions).toEqual([3, 3, 4, 4, 4, 3]);
    expect(roles).toEqual(['production', 'production', 'shadow', 'shadow', 'shadow', 'production']);
    expect((at as string[]).every((t) => !Number.isNaN(Date.parse(t)))).toBe(true);
    expect((features as string[]).map((f) => JSON.parse(f) as unknown)[4]).toEqual({ distance: 102, origin: 'SFO' });
    expect((predictions as string[]).map((p) => JSON.parse(p) as unknown)).toEqual([0, 0.1, 0, 0.1, 0.2, 0]);
    expect(latencies).toEqual(Array(6).fill(4.5));
    expect(log.stats()).toEqual({ logged: 6, dropped: 0, queued: 0, failedFlushes: 0 });
  });

  test('a flush starts by itself once flushRows rows wait, on the next turn of the event loop', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool(), { flushRows: 5, flushIntervalMs: 60_000 });
    log.log(record('a', 3));
    log.log(record('b', 2));
    expect(pool.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(pool.rowsPerCall()).toEqual([5]);
    expect(log.stats().logged).toBe(5);
  });

  test('fewer rows than flushRows are written flushIntervalMs after the first was queued', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool(), { flushRows: 100, flushIntervalMs: 250 });
    log.log(record('a', 1));
    await jest.advanceTimersByTimeAsync(200);
    log.log(record('b', 1)); // does not push the deadline back
    await jest.advanceTimersByTimeAsync(49);
    expect(pool.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(pool.rowsPerCall()).toEqual([2]);
  });

  test('batches take whole records up to flushRows, one statement in flight at a time', async () => {
    const pool = new FakePool();
    const gates: Array<ReturnType<typeof gate>> = [];
    pool.answer = () => {
      const g = gate();
      gates.push(g);
      return g.promise;
    };
    const log = new PredictionLog(pool.asPool(), { flushRows: 4, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) log.log(record(`r${i}`, 1));
    const flushed = log.flush();
    // However long the first statement takes, the second waits for it.
    await jest.advanceTimersByTimeAsync(1_000);
    expect(pool.calls).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      await jest.advanceTimersByTimeAsync(0);
      gates[i]!.release();
      await jest.advanceTimersByTimeAsync(0);
    }
    await flushed;
    expect(pool.rowsPerCall()).toEqual([4, 4, 2]);
    expect(pool.maxRunning).toBe(1);
    expect(log.stats()).toEqual({ logged: 10, dropped: 0, queued: 0, failedFlushes: 0 });
  });

  test('a record larger than flushRows goes whole into one batch', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool(), { flushRows: 3 });
    log.log(record('big', 7));
    log.log(record('small', 1));
    await log.flush();
    expect(pool.rowsPerCall()).toEqual([7, 1]);
  });

  test('flush() with nothing queued sends nothing', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool());
    await log.flush();
    log.log(record('empty', 0));
    await log.flush();
    expect(pool.calls).toHaveLength(0);
    expect(log.stats()).toEqual({ logged: 0, dropped: 0, queued: 0, failedFlushes: 0 });
  });
});

describe('bound', () => {
  test('while the database hangs, rows beyond maxQueuedRows (waiting plus in flight) are dropped and counted', async () => {
    const pool = new FakePool();
    const hang = gate();
    pool.answer = () => hang.promise;
    const drops: Array<[number, string]> = [];
    const log = new PredictionLog(pool.asPool(), {
      maxQueuedRows: 10,
      flushRows: 5,
      flushIntervalMs: 10,
      onDrop: (rows, reason) => drops.push([rows, reason]),
      onDropIntervalMs: 1_000,
    });
    log.log(record('a', 5));
    await jest.advanceTimersByTimeAsync(0); // a's batch is now in flight, and hangs
    expect(pool.calls).toHaveLength(1);
    log.log(record('b', 5));
    expect(log.stats().queued).toBe(10);

    for (let i = 0; i < 100; i++) expect(log.log(record(`x${i}`, 2))).toBeUndefined();
    expect(log.stats()).toEqual({ logged: 0, dropped: 200, queued: 10, failedFlushes: 0 });
    // The listener heard of the first drop at once, and nothing more within its interval.
    expect(drops).toEqual([[2, 'queue full']]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(drops).toEqual([
      [2, 'queue full'],
      [198, 'queue full'],
    ]);

    hang.release();
    await log.flush();
    expect(pool.rowsPerCall()).toEqual([5, 5]);
    expect(log.stats()).toEqual({ logged: 10, dropped: 200, queued: 0, failedFlushes: 0 });
    // Room again: new rows are taken.
    log.log(record('c', 3));
    await log.flush();
    expect(log.stats().logged).toBe(13);
  });

  test('a record with more rows than maxQueuedRows is dropped whole', async () => {
    const pool = new FakePool();
    const drops: Array<[number, string]> = [];
    const log = new PredictionLog(pool.asPool(), { maxQueuedRows: 4, onDrop: (rows, reason) => drops.push([rows, reason]) });
    log.log(record('huge', 5));
    log.log(record('fits', 4));
    await log.flush();
    expect(drops).toEqual([[5, 'record larger than maxQueuedRows']]);
    expect(log.stats()).toEqual({ logged: 4, dropped: 5, queued: 0, failedFlushes: 0 });
  });

  test('a throwing onDrop listener does not reach the caller', () => {
    const log = new PredictionLog(new FakePool().asPool(), {
      maxQueuedRows: 1,
      onDrop: () => {
        throw new Error('listener broke');
      },
    });
    expect(() => log.log(record('a', 2))).not.toThrow();
    expect(log.stats().dropped).toBe(2);
  });
});

describe('failures', () => {
  test('a failed flush drops its batch, keeps the error, and the next flush works when the database is back', async () => {
    const pool = new FakePool();
    pool.answer = () => Promise.reject(pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'));
    const drops: Array<[number, string]> = [];
    const log = new PredictionLog(pool.asPool(), { onDrop: (rows, reason) => drops.push([rows, reason]) });
    log.log(record('a', 3));
    await log.flush();
    expect(log.stats()).toEqual({ logged: 0, dropped: 3, queued: 0, failedFlushes: 1, lastError: 'connect ECONNREFUSED 127.0.0.1:5432 (ECONNREFUSED)' });
    expect(drops).toEqual([[3, 'flush failed']]);

    pool.answer = () => Promise.resolve({ rows: [] });
    log.log(record('b', 2));
    await log.flush();
    expect(log.stats()).toMatchObject({ logged: 2, dropped: 3, queued: 0, failedFlushes: 1 });
    expect(pool.rowsPerCall()).toEqual([3, 2]);
  });

  test('a flush that hangs past flushTimeoutMs is given up, and the next batch goes on', async () => {
    const pool = new FakePool();
    const hang = gate();
    pool.answer = () => hang.promise;
    const log = new PredictionLog(pool.asPool(), { flushRows: 2, flushIntervalMs: 10, flushTimeoutMs: 5_000 });
    log.log(record('a', 2));
    await jest.advanceTimersByTimeAsync(0);
    log.log(record('b', 1));
    await jest.advanceTimersByTimeAsync(4_999);
    expect(log.stats()).toMatchObject({ logged: 0, dropped: 0, queued: 3 });
    pool.answer = () => Promise.resolve({ rows: [] });
    await jest.advanceTimersByTimeAsync(1);
    expect(log.stats()).toMatchObject({ dropped: 2, failedFlushes: 1, lastError: 'prediction log flush timed out after 5000 ms' });
    await jest.advanceTimersByTimeAsync(10);
    expect(log.stats()).toMatchObject({ logged: 1, dropped: 2, queued: 0 });
    // The hung query finishing late changes nothing and raises nothing.
    hang.fail(new Error('late'));
    await jest.advanceTimersByTimeAsync(0);
    expect(log.stats()).toMatchObject({ logged: 1, dropped: 2, failedFlushes: 1 });
  });

  test('when PostgreSQL refuses a value, the batch is halved until only the offending record is lost', async () => {
    const pool = new FakePool();
    pool.answer = (call) =>
      (call.values[0] as string[]).includes('poison') ? Promise.reject(pgError('invalid input syntax for type json', '22P02')) : Promise.resolve({ rows: [] });
    const log = new PredictionLog(pool.asPool(), { flushRows: 100 });
    for (let i = 0; i < 8; i++) log.log(record(i === 5 ? 'poison' : `ok${i}`, 2));
    await log.flush();
    expect(log.stats()).toEqual({ logged: 14, dropped: 2, queued: 0, failedFlushes: 1, lastError: 'invalid input syntax for type json (22P02)' });
    const written = pool.calls.filter((c) => !(c.values[0] as string[]).includes('poison')).flatMap((c) => c.values[0] as string[]);
    expect(new Set(written)).toEqual(new Set(['ok0', 'ok1', 'ok2', 'ok3', 'ok4', 'ok6', 'ok7']));
    expect(written).toHaveLength(14);
  });
});

describe('values JSON cannot carry', () => {
  test('NaN, Infinity, BigInt, cycles, throwing getters, NUL and lone surrogates are stored safely, in one batch', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool());
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const shared = { x: 1 };
    const getter = Object.defineProperty({ ok: 1 }, 'bad', {
      enumerable: true,
      get() {
        throw new Error('no reading me');
      },
    });
    log.log(
      record('weird', 5, {
        instances: [
          { nan: NaN, inf: Infinity, neg: -Infinity, big: 12345678901234567890n },
          cyclic,
          { a: shared, b: shared, when: new Date('2001-07-01T00:00:00Z'), never: new Date(NaN), fn: () => 1, u: undefined },
          getter,
          { 'nul\u0000key': 'nul\u0000value', lone: 'x\uD800y', pair: '😀', ['__proto__']: 'own key' },
        ],
        predictions: [NaN, { class: 1, probabilities: [0.2, Infinity] }, 10n, undefined],
      }),
    );
    log.log(record('plain', 1));
    await log.flush();

    expect(pool.calls).toHaveLength(1);
    const features = (pool.calls[0]!.values[6] as string[]).map((f) => JSON.parse(f) as Record<string, unknown>);
    const predictions = (pool.calls[0]!.values[7] as string[]).map((p) => JSON.parse(p) as unknown);
    expect(features[0]).toEqual({ nan: null, inf: null, neg: null, big: '12345678901234567890' });
    expect(features[1]).toEqual({ name: 'loop', self: '[Circular]' });
    expect(features[2]).toEqual({ a: { x: 1 }, b: { x: 1 }, when: '2001-07-01T00:00:00.000Z', never: null });
    expect(features[3]).toEqual({ ok: 1, bad: '[Unserializable: no reading me]' });
    expect(Object.getOwnPropertyNames(features[4])).toContain('__proto__');
    expect(features[4]!['nul\uFFFDkey']).toBe('nul\uFFFDvalue');
    expect(features[4]!.lone).toBe('x\uFFFDy');
    expect(features[4]!.pair).toBe('😀');
    expect(predictions).toEqual([null, { class: 1, probabilities: [0.2, null] }, '10', null, null, 0]);
    // Nothing PostgreSQL's jsonb would refuse is left in the text.
    for (const text of [...(pool.calls[0]!.values[6] as string[]), ...(pool.calls[0]!.values[7] as string[])]) {
      expect(text).not.toMatch(/\\u0000|\\ud[89ab]/i);
    }
    expect(log.stats()).toMatchObject({ logged: 6, dropped: 0 });
  });

  test('toJsonText never throws, and caps nesting', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => toJsonText(deep)).not.toThrow();
    expect(toJsonText(deep)).toContain('"[Too deep]"');
    const badToJSON = {
      toJSON() {
        throw new Error('nope');
      },
    };
    expect(toJsonText(badToJSON)).toBe('"[Unserializable: nope]"');
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(JSON.parse(toJsonText({ hostile })) as unknown).toEqual({ hostile: '[Unserializable: trap]' });
    expect(toJsonText(undefined)).toBe('null');
    expect(toJsonText(Symbol('s'))).toBe('null');
    expect(pgSafeText('ok')).toBe('ok');
    expect(pgSafeText('\uDC00a\u0000')).toBe('\uFFFDa\uFFFD');
  });

  test('latencies are rounded to what real holds; invalid at falls back to the time of log()', () => {
    expect(toReal(1e300)).toBe(Infinity);
    expect(toReal(1e-60)).toBe(0);
    expect(toReal(NaN)).toBeNaN();
    expect(toReal('12' as unknown)).toBeNaN();
    jest.setSystemTime(new Date('2030-01-02T03:04:05Z'));
    const values = insertValues([
      { record: record('a', 1), rows: 1, at: new Date('2020-01-01T00:00:00Z') },
      { record: record('b', 1, { at: new Date(NaN) }), rows: 1, at: new Date('2020-01-01T00:00:00Z') },
    ]);
    expect(values[5]).toEqual(['2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z']);
  });

  test('the record time is its `at` when valid, else when log() was called', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool());
    jest.setSystemTime(new Date('2030-01-02T03:04:05Z'));
    log.log(record('given', 1, { at: new Date('2024-05-06T07:08:09Z') }));
    log.log(record('invalid', 1, { at: new Date(NaN) }));
    log.log(record('far', 1, { at: new Date(8.64e15) }));
    log.log(record('none', 1));
    jest.setSystemTime(new Date('2031-01-01T00:00:00Z'));
    await log.flush();
    expect(pool.calls[0]!.values[5]).toEqual(['2024-05-06T07:08:09.000Z', '2030-01-02T03:04:05.000Z', '2030-01-02T03:04:05.000Z', '2030-01-02T03:04:05.000Z']);
  });
});

describe('records that cannot be logged', () => {
  test('are dropped and counted without throwing; their neighbours are logged', async () => {
    const pool = new FakePool();
    const drops: Array<[number, string]> = [];
    const log = new PredictionLog(pool.asPool(), { onDrop: (rows, reason) => drops.push([rows, reason]), onDropIntervalMs: 0 });
    const bad: unknown[] = [
      record('v', 2, { version: 1.5 }),
      record('big', 2, { version: 2 ** 31 }),
      { ...record('r', 2), role: 'staging' },
      { ...record('i', 2), instances: 'nope' },
      { ...record('p', 2), predictions: undefined },
      record('', 2),
      { ...record('m', 2), model: 7 },
      null,
      new Proxy(
        {},
        {
          get() {
            throw new Error('hostile');
          },
        },
      ),
    ];
    for (const b of bad) expect(() => log.log(b as PredictionLogRecord)).not.toThrow();
    log.log(record('good', 1));
    await log.flush();
    expect(log.stats()).toEqual({ logged: 1, dropped: 2 + 2 + 2 + 1 + 2 + 2 + 2 + 1 + 1, queued: 0, failedFlushes: 0 });
    expect(new Set(drops.map(([, reason]) => reason))).toEqual(new Set(['invalid record']));
    expect(pool.calls[0]!.values[0]).toEqual(['good']);
  });

  test('missing predictions are stored as null', async () => {
    const pool = new FakePool();
    const log = new PredictionLog(pool.asPool());
    log.log(record('short', 3, { predictions: [1] }));
    await log.flush();
    expect((pool.calls[0]!.values[7] as string[]).map((p) => JSON.parse(p) as unknown)).toEqual([1, null, null]);
  });

  test('bad options are refused at construction', () => {
    const pool = new FakePool().asPool();
    expect(() => new PredictionLog(pool, { maxQueuedRows: 0 })).toThrow(/maxQueuedRows/);
    expect(() => new PredictionLog(pool, { flushRows: 1.5 })).toThrow(/flushRows/);
    expect(() => new PredictionLog(pool, { flushIntervalMs: -1 })).toThrow(/flushIntervalMs/);
  });
});

describe('close', () => {
  test('writes what is queued, stops the timer, and drops what is logged afterwards', async () => {
    const pool = new FakePool();
    const drops: Array<[number, string]> = [];
    const log = new PredictionLog(pool.asPool(), { onDrop: (rows, reason) => drops.push([rows, reason]) });
    log.log(record('a', 2));
    expect(jest.getTimerCount()).toBe(1);
    const closed = log.close();
    expect(log.close()).toBe(closed); // idempotent
    log.log(record('late', 3));
    await closed;
    expect(jest.getTimerCount()).toBe(0);
    expect(pool.rowsPerCall()).toEqual([2]);
    log.log(record('later', 1));
    expect(log.stats()).toEqual({ logged: 2, dropped: 4, queued: 0, failedFlushes: 0 });
    // The first drop is told at once, the next when the listener's interval has passed.
    expect(drops).toEqual([[3, 'log closed']]);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(drops).toEqual([
      [3, 'log closed'],
      [1, 'log closed'],
    ]);
    expect(pool.calls).toHaveLength(1);
  });

  test('waits for the flush in flight', async () => {
    const pool = new FakePool();
    const hang = gate();
    pool.answer = () => hang.promise;
    const log = new PredictionLog(pool.asPool(), { flushRows: 1 });
    log.log(record('a', 1));
    await jest.advanceTimersByTimeAsync(0);
    let closed = false;
    const closing = log.close().then(() => {
      closed = true;
    });
    await jest.advanceTimersByTimeAsync(100);
    expect(closed).toBe(false);
    hang.release();
    await closing;
    expect(log.stats()).toMatchObject({ logged: 1, queued: 0 });
  });

  test('with the database down, gives up after one failed batch instead of trying every batch', async () => {
    const pool = new FakePool();
    pool.answer = () => Promise.reject(pgError('Connection terminated', '57P01'));
    const log = new PredictionLog(pool.asPool(), { flushRows: 2, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) log.log(record(`r${i}`, 1));
    await log.close();
    expect(pool.calls).toHaveLength(1);
    expect(log.stats()).toMatchObject({ logged: 0, dropped: 10, queued: 0, failedFlushes: 1 });
  });
});
