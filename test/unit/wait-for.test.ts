import { GiveUp, waitFor } from '../../scripts/stack/child-process';

describe('waitFor', () => {
  test('polls until the probe answers, treating its errors as "not yet"', async () => {
    let calls = 0;
    const value = await waitFor(
      'the answer',
      5_000,
      async () => {
        calls++;
        if (calls < 3) throw new Error('not listening yet');
        return calls === 3 ? 42 : undefined;
      },
      1,
    );
    expect(value).toBe(42);
    expect(calls).toBe(3);
  });

  test('reports the last error when the deadline passes', async () => {
    await expect(
      waitFor(
        'the model server',
        30,
        async () => {
          throw new Error('connection refused');
        },
        5,
      ),
    ).rejects.toThrow('timed out after 0.03s waiting for the model server: connection refused');
  });

  test('a GiveUp ends the wait at once, with its reason', async () => {
    let calls = 0;
    const began = Date.now();
    await expect(
      waitFor('the Temporal server', 60_000, async () => {
        calls++;
        throw new GiveUp('it exited with code 1; see temporal.log');
      }),
    ).rejects.toThrow('while waiting for the Temporal server: it exited with code 1; see temporal.log');
    expect(calls).toBe(1);
    expect(Date.now() - began).toBeLessThan(1_000);
  });
});
