import { loadConfig } from '../../lib/config';
import {
  clusterAddresses,
  CLUSTER_PORT_SPAN,
  clusterDynamicConfig,
  clusterPorts,
  clusterServerConfig,
  NUM_HISTORY_SHARDS,
  sqlEndpoint,
  sqlToolArgs,
  TEMPORAL_DATABASES,
  toYaml,
} from '../../scripts/stack/temporal-cluster-config';

/** Every port a stack with this environment listens on in cluster mode. */
function stackPorts(env: Record<string, string>): number[] {
  const config = loadConfig(env);
  return [
    ...Object.values(clusterPorts(config.temporalPort)),
    config.temporalUiPort,
    config.postgresPort,
    config.servePort,
    config.codec.port,
    // the pool processes' worker metrics: serve port + 50 + i (stack.ts)
    ...Array.from({ length: 8 }, (_, i) => config.servePort + 50 + i),
  ];
}

describe('clusterPorts', () => {
  test('derives every service port from the frontend port', () => {
    expect(clusterPorts(7233)).toEqual({
      frontend: 7233,
      history: 7234,
      matching: 7235,
      worker: 7236,
      frontendHttp: 7237,
      frontendMembership: 7238,
      historyMembership: 7239,
      matchingMembership: 7240,
      workerMembership: 7241,
      metrics: 7242,
    });
  });

  test('one cluster: distinct ports, all inside its span', () => {
    for (const p of [7233, 17233, 27233, 32767 - 8]) {
      const ports = Object.values(clusterPorts(p));
      expect(new Set(ports).size).toBe(ports.length);
      expect(Math.min(...ports)).toBe(p);
      expect(Math.max(...ports)).toBe(p + CLUSTER_PORT_SPAN - 1);
    }
  });

  test('two clusters whose frontend ports are a span apart do not overlap; closer ones do', () => {
    const a = new Set(Object.values(clusterPorts(27233)));
    expect(Object.values(clusterPorts(27233 + CLUSTER_PORT_SPAN)).filter((p) => a.has(p))).toEqual([]);
    expect(Object.values(clusterPorts(27233 + CLUSTER_PORT_SPAN - 1)).filter((p) => a.has(p))).toEqual([27242]);
  });

  test('the default stack, the integration stacks (offset 0 and 400) and the cluster test stack share no port', () => {
    const environments: Array<Record<string, string>> = [
      {},
      { PIPEWRIGHT_TEMPORAL_PORT: '17233', PIPEWRIGHT_TEMPORAL_UI_PORT: '18233', PIPEWRIGHT_POSTGRES_PORT: '15433', PIPEWRIGHT_SERVE_PORT: '18501' },
      { PIPEWRIGHT_TEMPORAL_PORT: '17633', PIPEWRIGHT_TEMPORAL_UI_PORT: '18633', PIPEWRIGHT_POSTGRES_PORT: '15833', PIPEWRIGHT_SERVE_PORT: '18901' },
      { PIPEWRIGHT_TEMPORAL_PORT: '27233', PIPEWRIGHT_TEMPORAL_UI_PORT: '28233', PIPEWRIGHT_POSTGRES_PORT: '25433', PIPEWRIGHT_SERVE_PORT: '28501' },
    ];
    const stacks = environments.map(stackPorts);
    for (const ports of stacks) expect(new Set(ports).size).toBe(ports.length);
    const all = stacks.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  test('refuses a frontend port that leaves no room for the rest', () => {
    expect(() => clusterPorts(65530)).toThrow(/PIPEWRIGHT_TEMPORAL_PORT=65530 leaves no room/);
    expect(() => clusterPorts(0)).toThrow(/PIPEWRIGHT_TEMPORAL_PORT=0/);
  });

  test('refuses a frontend port whose membership ports Temporal cannot store (a smallint column)', () => {
    expect(() => clusterPorts(47233)).toThrow(
      "PIPEWRIGHT_TEMPORAL_PORT=47233 puts the cluster's membership ports at 47238..47241, above 32767, which Temporal's SQL schema cannot store",
    );
    expect(clusterPorts(32767 - 8).workerMembership).toBe(32767);
  });
});

describe('clusterAddresses (PIPEWRIGHT_BIND_HOST)', () => {
  test('loopback by default; 0.0.0.0 opens the frontend only; another IP carries every service', () => {
    expect(clusterAddresses('127.0.0.1')).toEqual({ frontendBind: '127.0.0.1', servicesBind: '127.0.0.1', broadcast: '127.0.0.1', local: '127.0.0.1' });
    expect(clusterAddresses('0.0.0.0')).toEqual({ frontendBind: '0.0.0.0', servicesBind: '127.0.0.1', broadcast: '127.0.0.1', local: '127.0.0.1' });
    expect(clusterAddresses('10.1.2.3')).toEqual({ frontendBind: '10.1.2.3', servicesBind: '10.1.2.3', broadcast: '10.1.2.3', local: '10.1.2.3' });
    expect(() => clusterAddresses('temporal.internal')).toThrow('PIPEWRIGHT_BIND_HOST=temporal.internal is not an IPv4 address');
  });

  test('with 0.0.0.0 the frontend listens everywhere, the rest on loopback, and clients on this machine use loopback', () => {
    const config = clusterServerConfig({
      ports: clusterPorts(7233),
      addresses: clusterAddresses('0.0.0.0'),
      db: sqlEndpoint('postgres://u:p@127.0.0.1:5433/d'),
      dynamicConfigFile: '/d.yaml',
    });
    expect(config.services).toMatchObject({ frontend: { rpc: { bindOnIP: '0.0.0.0' } }, history: { rpc: { bindOnIP: '127.0.0.1' } } });
    expect(config.global).toMatchObject({ membership: { broadcastAddress: '127.0.0.1' } });
    expect(config.publicClient).toEqual({ hostPort: '127.0.0.1:7233' });
  });
});

describe('sqlEndpoint and sqlToolArgs', () => {
  test("the embedded server's URL", () => {
    const db = sqlEndpoint('postgres://postgres:pipewright@127.0.0.1:5433/pipewright');
    expect(db).toEqual({ host: '127.0.0.1', port: 5433, user: 'postgres', password: 'pipewright' });
    expect(sqlToolArgs(db, 'temporal')).toEqual([
      '--plugin',
      'postgres12',
      '--ep',
      '127.0.0.1',
      '-p',
      '5433',
      '-u',
      'postgres',
      '--pw',
      'pipewright',
      '--db',
      'temporal',
    ]);
  });

  test('percent-encoded credentials, default port, IPv6 host', () => {
    expect(sqlEndpoint('postgresql://app%40corp:p%3Ass%2Fw%23rd@[::1]/db')).toEqual({ host: '::1', port: 5432, user: 'app@corp', password: 'p:ss/w#rd' });
  });

  test('sslmode maps to TLS: require without a host check, verify-full with one and its CA file', () => {
    const require = sqlEndpoint('postgres://u:p@db.example.com:5432/x?sslmode=require');
    expect(require.tls).toEqual({ enableHostVerification: false });
    expect(sqlToolArgs(require, 'temporal').slice(-2)).toEqual(['--tls', '--tls-disable-host-verification']);
    const full = sqlEndpoint('postgres://u:p@db.example.com/x?sslmode=verify-full&sslrootcert=/etc/ca.pem');
    expect(full.tls).toEqual({ enableHostVerification: true, caFile: '/etc/ca.pem' });
    expect(sqlToolArgs(full, 'temporal').slice(-3)).toEqual(['--tls', '--tls-ca-file', '/etc/ca.pem']);
    expect(sqlEndpoint('postgres://u:p@h/x?sslmode=disable').tls).toBeUndefined();
  });

  test('refuses what is not a postgres URL', () => {
    expect(() => sqlEndpoint('mysql://u:p@h/x')).toThrow(/postgres:\/\//);
    expect(() => sqlEndpoint('not a url')).toThrow(/not a URL/);
  });
});

describe('clusterServerConfig', () => {
  const ports = clusterPorts(27233);
  const config = clusterServerConfig({
    ports,
    db: sqlEndpoint('postgres://postgres:pw@127.0.0.1:25433/pipewright'),
    dynamicConfigFile: '/home/x/temporal-cluster/config/dynamicconfig.yaml',
  });

  test('persistence: the temporal and temporal_visibility databases with postgres12, four history shards', () => {
    expect(NUM_HISTORY_SHARDS).toBe(4);
    expect(config.persistence).toMatchObject({
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': {
          sql: { pluginName: 'postgres12', databaseName: TEMPORAL_DATABASES.default, connectAddr: '127.0.0.1:25433', user: 'postgres', password: 'pw' },
        },
        'postgres-visibility': { sql: { pluginName: 'postgres12', databaseName: TEMPORAL_DATABASES.visibility, connectAddr: '127.0.0.1:25433' } },
      },
    });
  });

  test('services listen on loopback on the derived ports; the cluster and public client name the frontend', () => {
    expect(config.services).toEqual({
      frontend: { rpc: { grpcPort: 27233, membershipPort: 27238, bindOnIP: '127.0.0.1', httpPort: 27237 } },
      history: { rpc: { grpcPort: 27234, membershipPort: 27239, bindOnIP: '127.0.0.1' } },
      matching: { rpc: { grpcPort: 27235, membershipPort: 27240, bindOnIP: '127.0.0.1' } },
      worker: { rpc: { grpcPort: 27236, membershipPort: 27241, bindOnIP: '127.0.0.1' } },
    });
    expect(config.publicClient).toEqual({ hostPort: '127.0.0.1:27233' });
    expect(config.clusterMetadata).toMatchObject({ currentClusterName: 'active', clusterInformation: { active: { rpcAddress: '127.0.0.1:27233' } } });
    expect(config.dynamicConfigClient).toEqual({ filepath: '/home/x/temporal-cluster/config/dynamicconfig.yaml', pollInterval: '10s' });
  });

  test('dynamic config: one task queue partition, as for the dev server', () => {
    const dynamic = clusterDynamicConfig(ports);
    expect(dynamic['matching.numTaskqueueReadPartitions']).toEqual([{ value: 1, constraints: {} }]);
    expect(dynamic['matching.numTaskqueueWritePartitions']).toEqual([{ value: 1, constraints: {} }]);
  });

  test("dynamic config: a client that went silent is pinged after 10 s, so a cut-off host's polls go sooner", () => {
    expect(clusterDynamicConfig(ports)['frontend.keepAliveTime']).toEqual([{ value: '10s', constraints: {} }]);
  });
});

describe('toYaml', () => {
  test('maps, lists of scalars and of maps, empty collections; strings double-quoted', () => {
    expect(
      toYaml({
        a: 1,
        b: { c: true, 'd.e': 'x' },
        list: [1, 'two'],
        maps: [{ value: 1, constraints: {} }, { value: [{ Pattern: '*', AllowInsecure: true }] }],
        empty: [],
        'odd key': 'p"w\\d\n',
      }),
    ).toBe(
      [
        'a: 1',
        'b:',
        '  c: true',
        '  d.e: "x"',
        'list:',
        '  - 1',
        '  - "two"',
        'maps:',
        '  - value: 1',
        '    constraints: {}',
        '  - value:',
        '      - Pattern: "*"',
        '        AllowInsecure: true',
        'empty: []',
        '"odd key": "p\\"w\\\\d\\n"',
        '',
      ].join('\n'),
    );
  });

  test('the server config renders with its password and template quoted', () => {
    const text = toYaml(clusterServerConfig({ ports: clusterPorts(7233), db: sqlEndpoint('postgres://u:a%22b%3A%20c@h:1/d'), dynamicConfigFile: '/d.yaml' }));
    expect(text).toContain('      sql:\n        pluginName: "postgres12"\n        databaseName: "temporal"\n');
    expect(text).toContain('        password: "a\\"b: c"\n');
    expect(text).toContain('  numHistoryShards: 4\n');
    expect(toYaml(clusterDynamicConfig(clusterPorts(7233)))).toContain(
      'component.nexusoperations.callback.endpoint.template:\n  - value: "http://127.0.0.1:7237/namespaces/{{.NamespaceName}}/nexus/callback"\n',
    );
  });
});
