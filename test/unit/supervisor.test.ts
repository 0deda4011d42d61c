import { describeExit, SupervisedService, type ExitStatus, type RestartPolicy, type ServiceInstance } from '../../scripts/stack/supervisor';

/** A service instance whose death the test decides. */
class FakeInstance implements ServiceInstance {
  static nextPid = 100;
  readonly pid = FakeInstance.nextPid++;
  stopped = false;
  private resolveExit!: (status: ExitStatus) => void;
  readonly exited = new Promise<ExitStatus>((resolve) => (this.resolveExit = resolve));
  die(status: ExitStatus = { code: 1, signal: null }): void {
    this.resolveExit(status);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.resolveExit({ code: 0, signal: null });
  }
}

const POLICY: RestartPolicy = { backoffMs: [5, 10], maxRestarts: 2, windowMs: 60_000 };
const tick = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

function supervised(start: () => Promise<ServiceInstance>, policy = POLICY) {
  const lines: string[] = [];
  const restarted: ServiceInstance[] = [];
  const first = new FakeInstance();
  const service = new SupervisedService(
    'pool-cpu',
    first,
    start,
    (l) => lines.push(l),
    { onRestarted: (i) => restarted.push(i), hint: 'See pool-cpu.log.' },
    policy,
  );
  return { service, first, lines, restarted };
}

describe('SupervisedService', () => {
  test('restarts a service that dies, logging how it ended, and reports the new instance', async () => {
    const replacements: FakeInstance[] = [];
    const { service, first, lines, restarted } = supervised(async () => {
      const next = new FakeInstance();
      replacements.push(next);
      return next;
    });
    first.die({ code: null, signal: 'SIGKILL' });
    await tick();
    expect(replacements).toHaveLength(1);
    expect(restarted).toEqual(replacements);
    expect(service.pid).toBe(replacements[0]!.pid);
    expect(lines[0]).toBe(`[stack] pool-cpu (pid ${first.pid}) was killed by SIGKILL; restarting it in 0.005 s (restart 1 of at most 2).`);
    expect(lines[1]).toBe(`[stack] pool-cpu restarted (pid ${replacements[0]!.pid}).`);
    await service.stop();
    expect(replacements[0]!.stopped).toBe(true);
  });

  test('gives up after too many crashes in the window, and says where to look', async () => {
    const { service, first, lines } = supervised(async () => {
      const next = new FakeInstance();
      setTimeout(() => next.die({ code: 3, signal: null }), 1);
      return next;
    });
    first.die({ code: 3, signal: null });
    await tick(100);
    expect(service.failed).toBe(true);
    expect(lines.filter((l) => l.includes('restarting it in'))).toHaveLength(2);
    expect(lines[lines.length - 1]).toBe('[stack] pool-cpu exited with code 3 and has crashed 3 times in 1 min: not restarting it again. See pool-cpu.log.');
    await service.stop();
  });

  test('crashes older than the window are forgotten', async () => {
    let n = 0;
    const { service, first } = supervised(
      async () => {
        const next = new FakeInstance();
        if (++n < 5) setTimeout(() => next.die(), 15);
        return next;
      },
      { backoffMs: [1], maxRestarts: 1, windowMs: 10 },
    );
    first.die();
    await tick(150);
    expect(n).toBe(5);
    expect(service.failed).toBe(false);
    await service.stop();
  });

  test('a start that fails counts as a crash and is tried again', async () => {
    let attempts = 0;
    const { service, first, lines } = supervised(async () => {
      if (++attempts === 1) throw new Error('port 7233 is taken');
      return new FakeInstance();
    });
    first.die();
    await tick(60);
    expect(attempts).toBe(2);
    expect(lines).toContain('[stack] pool-cpu did not start again: port 7233 is taken');
    expect(service.failed).toBe(false);
    await service.stop();
  });

  test('stopping a service that is already gone returns at once and restarts nothing', async () => {
    let starts = 0;
    const { service, first } = supervised(
      async () => {
        starts++;
        return new FakeInstance();
      },
      { backoffMs: [60_000], maxRestarts: 5, windowMs: 60_000 },
    );
    first.die();
    await tick(5);
    const began = Date.now();
    await service.stop();
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(starts).toBe(0);
  });

  test('stopping during a restart stops the instance that was starting', async () => {
    let release!: () => void;
    const starting = new FakeInstance();
    const { service, first } = supervised(() => new Promise<ServiceInstance>((resolve) => (release = () => resolve(starting))));
    first.die();
    await tick();
    const stopped = service.stop();
    release();
    await stopped;
    expect(starting.stopped).toBe(true);
  });

  test('a retired service that dies is not restarted, even while the stack is still stopping others', async () => {
    let starts = 0;
    const { service, first, lines } = supervised(async () => {
      starts++;
      return new FakeInstance();
    });
    service.retire();
    first.die({ code: 0, signal: null });
    await tick();
    expect(starts).toBe(0);
    expect(lines).toEqual([]);
    await service.stop();
  });

  test('describes exits by code or signal', () => {
    expect(describeExit({ code: 0, signal: null })).toBe('exited with code 0');
    expect(describeExit({ code: null, signal: 'SIGTERM' })).toBe('was killed by SIGTERM');
  });
});
