import { WORKER_POOLS } from '../../contracts';
import { parsePools } from '../../scripts/commands/up';
import { UsageError } from '../../scripts/client/usage-error';
import { admittedNetwork, bindAddress } from '../../scripts/stack/bind-host';
import { gofakes3Args } from '../../scripts/stack/object-store';
import { hbaWithBindHost } from '../../scripts/stack/postgres';

describe('bindAddress (PIPEWRIGHT_BIND_HOST)', () => {
  test('loopback by default; an IP is listened on and handed out; 0.0.0.0 listens everywhere and hands out loopback', () => {
    expect(bindAddress('127.0.0.1')).toEqual({ listen: '127.0.0.1', advertise: '127.0.0.1' });
    expect(bindAddress('10.1.2.3')).toEqual({ listen: '10.1.2.3', advertise: '10.1.2.3' });
    expect(bindAddress('0.0.0.0')).toEqual({ listen: '0.0.0.0', advertise: '127.0.0.1' });
    expect(() => bindAddress('db.internal')).toThrow('PIPEWRIGHT_BIND_HOST=db.internal is not an IPv4 address');
  });

  test("embedded PostgreSQL admits the bind host's /24, or every address for 0.0.0.0, and nothing more on loopback", () => {
    expect(admittedNetwork('127.0.0.1')).toBeUndefined();
    expect(admittedNetwork('10.200.0.2')).toBe('10.200.0.0/24');
    expect(admittedNetwork('0.0.0.0')).toBe('0.0.0.0/0');
  });

  test('the S3 server listens on the bind host', () => {
    expect(gofakes3Args('/d', 9400, 'b', '10.1.2.3')).toEqual(expect.arrayContaining(['-host', '10.1.2.3:9400']));
    expect(gofakes3Args('/d', 9400, 'b')).toEqual(expect.arrayContaining(['-host', '127.0.0.1:9400']));
  });
});

describe('pg_hba.conf for the bind host', () => {
  const initdb =
    '# TYPE  DATABASE        USER            ADDRESS                 METHOD\nlocal   all             all                                     password\nhost    all             all             127.0.0.1/32            password\n';

  test("loopback leaves initdb's file as it is", () => {
    expect(hbaWithBindHost(initdb, '127.0.0.1')).toBe(initdb);
  });

  test('another IP adds one password line for its network, once, however often it starts', () => {
    const once = hbaWithBindHost(initdb, '10.200.0.2');
    expect(once.startsWith(initdb)).toBe(true);
    const added = once.slice(initdb.length).trimEnd().split('\n');
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^host\s+all\s+all\s+10\.200\.0\.0\/24\s+scram-sha-256\s+# pipewright: PIPEWRIGHT_BIND_HOST$/);
    expect(hbaWithBindHost(once, '10.200.0.2')).toBe(once);
  });

  test('the line follows the bind host, and goes when it is loopback again', () => {
    const first = hbaWithBindHost(initdb, '10.200.0.2');
    const moved = hbaWithBindHost(first, '0.0.0.0');
    expect(moved).not.toContain('10.200.0.0/24');
    expect(moved).toContain('0.0.0.0/0');
    expect(hbaWithBindHost(moved, '127.0.0.1')).toBe(initdb);
  });
});

describe('up --pools', () => {
  test("all by default, none, or a comma list in the stack's order", () => {
    expect(parsePools(undefined)).toEqual([...WORKER_POOLS]);
    expect(parsePools('all')).toEqual([...WORKER_POOLS]);
    expect(parsePools('none')).toEqual([]);
    expect(parsePools('gpu, cpu,gpu')).toEqual(['cpu', 'gpu']);
  });

  test('an unknown pool is a usage error that lists the valid ones', () => {
    expect(() => parsePools('gpu,tpu')).toThrow(UsageError);
    expect(() => parsePools('gpu,tpu')).toThrow('--pools "gpu,tpu": "tpu" is not a pool; name some of orchestrator, cpu, gpu, eval, deploy');
    expect(() => parsePools('some')).toThrow('"some" is not a pool');
    expect(() => parsePools('')).toThrow('"" is not a pool');
  });
});
