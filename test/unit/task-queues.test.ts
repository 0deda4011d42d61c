import { POOLS, taskQueue } from '../../workers/task-queues';

describe('taskQueue', () => {
  const saved = process.env.PIPEWRIGHT_QUEUE_PREFIX;
  afterEach(() => {
    if (saved === undefined) delete process.env.PIPEWRIGHT_QUEUE_PREFIX;
    else process.env.PIPEWRIGHT_QUEUE_PREFIX = saved;
  });

  test('uses an explicit prefix', () => {
    expect(taskQueue('cpu', 'staging-')).toBe('staging-cpu');
    expect(taskQueue('gpu', '')).toBe('gpu');
  });

  test('defaults to "pipewright-" when PIPEWRIGHT_QUEUE_PREFIX is unset or empty', () => {
    delete process.env.PIPEWRIGHT_QUEUE_PREFIX;
    expect(taskQueue('orchestrator')).toBe('pipewright-orchestrator');
    process.env.PIPEWRIGHT_QUEUE_PREFIX = '';
    expect(taskQueue('deploy')).toBe('pipewright-deploy');
  });

  test('takes the prefix from PIPEWRIGHT_QUEUE_PREFIX, read at call time', () => {
    process.env.PIPEWRIGHT_QUEUE_PREFIX = 'test42-';
    expect(taskQueue('eval')).toBe('test42-eval');
    process.env.PIPEWRIGHT_QUEUE_PREFIX = 'other-';
    expect(taskQueue('eval')).toBe('other-eval');
  });

  test('gives every pool its own queue', () => {
    expect([...POOLS]).toEqual(['orchestrator', 'cpu', 'gpu', 'eval', 'deploy']);
    const queues = POOLS.map((pool) => taskQueue(pool, 'p-'));
    expect(queues).toEqual(['p-orchestrator', 'p-cpu', 'p-gpu', 'p-eval', 'p-deploy']);
    expect(new Set(queues).size).toBe(POOLS.length);
  });
});
