import os from 'node:os';
import path from 'node:path';
import { childEnvironment, loadConfig } from '../../lib/config';

const cores = os.cpus().length;

describe('loadConfig', () => {
  test('defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      home: path.resolve('.pipewright'),
      temporalAddress: undefined,
      temporalNamespace: 'default',
      temporalPort: 7233,
      temporalUiPort: 8233,
      temporalUiUrl: 'http://localhost:8233',
      databaseUrl: undefined,
      postgresPort: 5433,
      serveHost: '127.0.0.1',
      servePort: 8501,
      serveUrl: 'http://127.0.0.1:8501',
      queuePrefix: 'pipewright-',
      slots: { cpu: cores, gpu: 1, eval: cores },
      gpuProcesses: cores,
      tfBackend: 'auto',
      temporalCli: undefined,
      cacheDir: path.join(os.homedir(), '.cache', 'pipewright'),
      executablePath: [],
      serving: { maxBatchRows: 256, maxBatchWaitMs: 0, predictionLog: true },
      logLevel: 'info',
      temporalAuth: { tls: false, clientCertPath: undefined, clientKeyPath: undefined, serverCaCertPath: undefined, serverName: undefined, apiKey: undefined },
      temporalCluster: false,
      temporalServer: undefined,
      temporalSqlTool: undefined,
      bindHost: '127.0.0.1',
      payloadKeys: undefined,
      codec: { port: 8234, token: undefined, corsOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'] },
      artifactStore: `file://${path.resolve('.pipewright', 'artifacts')}`,
      artifactCacheDir: path.resolve('.pipewright', 'artifact-cache'),
      s3: { endpoint: undefined, region: 'us-east-1', forcePathStyle: false, accessKeyId: undefined, secretAccessKey: undefined, embeddedPort: 9400 },
      federation: { store: undefined, siteSecret: undefined },
    });
    expect(path.isAbsolute(config.home)).toBe(true);
  });

  test('empty strings count as unset', () => {
    const config = loadConfig({
      PIPEWRIGHT_HOME: '',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_NAMESPACE: '',
      DATABASE_URL: '',
      PIPEWRIGHT_TEMPORAL_PORT: '',
      PIPEWRIGHT_SERVE_PORT: '',
    });
    expect(config.home).toBe(path.resolve('.pipewright'));
    expect(config.temporalAddress).toBeUndefined();
    expect(config.temporalNamespace).toBe('default');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporalPort).toBe(7233);
    expect(config.servePort).toBe(8501);
  });

  test('reads every setting from the given environment', () => {
    const config = loadConfig({
      PIPEWRIGHT_HOME: '/srv/pw',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'ml',
      PIPEWRIGHT_TEMPORAL_PORT: '17233',
      PIPEWRIGHT_TEMPORAL_UI_PORT: '18233',
      DATABASE_URL: 'postgres://u@db/flights',
      PIPEWRIGHT_POSTGRES_PORT: '15433',
      PIPEWRIGHT_SERVE_HOST: '0.0.0.0',
      PIPEWRIGHT_SERVE_PORT: '18501',
      PIPEWRIGHT_QUEUE_PREFIX: 'staging-',
      PIPEWRIGHT_CPU_SLOTS: '6',
      PIPEWRIGHT_GPU_SLOTS: '2',
      PIPEWRIGHT_EVAL_SLOTS: '3',
      PIPEWRIGHT_GPU_WORKERS: '4',
      PIPEWRIGHT_TF_BACKEND: 'webgpu',
      TEMPORAL_CLI: '/opt/temporal/bin/temporal',
      PIPEWRIGHT_CACHE_DIR: '/var/cache/pw',
      PATH: `/usr/local/bin${path.delimiter}/usr/bin`,
      PIPEWRIGHT_SERVE_BATCH_ROWS: '64',
      PIPEWRIGHT_SERVE_BATCH_WAIT_MS: '0.5',
      PIPEWRIGHT_PREDICTION_LOG: 'off',
      PIPEWRIGHT_LOG_LEVEL: 'debug',
      PIPEWRIGHT_WORKER_METRICS_PORT: '9464',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/pw/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/pw/client.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/pw/ca.pem',
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      PIPEWRIGHT_TEMPORAL_CLUSTER: 'on',
      TEMPORAL_SERVER: '/opt/temporal/bin/server',
      TEMPORAL_SQL_TOOL: '/opt/temporal/bin/temporal-sql-tool',
      PIPEWRIGHT_BIND_HOST: '10.1.2.3',
      PIPEWRIGHT_PAYLOAD_KEY_FILE: '/etc/pw/payload-keys',
      PIPEWRIGHT_CODEC_PORT: '18888',
      PIPEWRIGHT_CODEC_TOKEN: 'secret',
      PIPEWRIGHT_CODEC_CORS_ORIGINS: 'https://ui.internal, https://ui2.internal',
      PIPEWRIGHT_ARTIFACT_STORE: 's3://ml-artifacts/pipewright/',
      PIPEWRIGHT_ARTIFACT_CACHE: '/var/cache/pw-artifacts',
      PIPEWRIGHT_S3_ENDPOINT: 'http://minio.internal:9000',
      PIPEWRIGHT_S3_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'shh',
      PIPEWRIGHT_S3_PORT: '19400',
      PIPEWRIGHT_FEDERATION_STORE: 's3://coordinator/exchange/',
      PIPEWRIGHT_SITE_SECRET: 'site-secret',
    });
    expect(config).toEqual({
      home: '/srv/pw',
      temporalAddress: 'temporal.internal:7233',
      temporalNamespace: 'ml',
      temporalPort: 17233,
      temporalUiPort: 18233,
      temporalUiUrl: undefined, // a cluster's UI is not guessed
      databaseUrl: 'postgres://u@db/flights',
      postgresPort: 15433,
      serveHost: '0.0.0.0',
      servePort: 18501,
      serveUrl: 'http://127.0.0.1:18501', // derived from the serve port
      queuePrefix: 'staging-',
      slots: { cpu: 6, gpu: 2, eval: 3 },
      gpuProcesses: 4,
      tfBackend: 'webgpu',
      temporalCli: '/opt/temporal/bin/temporal',
      cacheDir: '/var/cache/pw',
      executablePath: ['/usr/local/bin', '/usr/bin'],
      serving: { maxBatchRows: 64, maxBatchWaitMs: 0.5, predictionLog: false },
      logLevel: 'debug',
      workerMetricsPort: 9464,
      temporalAuth: {
        tls: false,
        clientCertPath: '/etc/pw/client.pem',
        clientKeyPath: '/etc/pw/client.key',
        serverCaCertPath: '/etc/pw/ca.pem',
        serverName: 'temporal.internal',
        apiKey: undefined,
      },
      temporalCluster: true,
      temporalServer: '/opt/temporal/bin/server',
      temporalSqlTool: '/opt/temporal/bin/temporal-sql-tool',
      bindHost: '10.1.2.3',
      payloadKeys: { source: 'PIPEWRIGHT_PAYLOAD_KEY_FILE', value: '/etc/pw/payload-keys' },
      codec: { port: 18888, token: 'secret', corsOrigins: ['https://ui.internal', 'https://ui2.internal'] },
      artifactStore: 's3://ml-artifacts/pipewright',
      artifactCacheDir: '/var/cache/pw-artifacts',
      s3: {
        endpoint: 'http://minio.internal:9000',
        region: 'eu-west-1',
        forcePathStyle: true,
        accessKeyId: 'AKIA',
        secretAccessKey: 'shh',
        embeddedPort: 19400,
      },
      federation: { store: 's3://coordinator/exchange', siteSecret: 'site-secret' },
    });
  });

  test('serving and logging settings are checked, naming the variable', () => {
    expect(() => loadConfig({ PIPEWRIGHT_LOG_LEVEL: 'loud' })).toThrow(
      'PIPEWRIGHT_LOG_LEVEL=loud is not one of fatal, error, warn, info, debug, trace, silent.',
    );
    expect(() => loadConfig({ PIPEWRIGHT_PREDICTION_LOG: 'maybe' })).toThrow('PIPEWRIGHT_PREDICTION_LOG=maybe is neither on nor off.');
    expect(() => loadConfig({ PIPEWRIGHT_SERVE_BATCH_WAIT_MS: '-1' })).toThrow('PIPEWRIGHT_SERVE_BATCH_WAIT_MS=-1 is not a number of 0 or more');
    expect(() => loadConfig({ PIPEWRIGHT_SERVE_BATCH_ROWS: '0' })).toThrow('PIPEWRIGHT_SERVE_BATCH_ROWS=0 is not a positive integer');
  });

  test('cluster, encryption and artifact store settings are checked, naming the variable', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' })).toThrow(
      'TEMPORAL_TLS_CLIENT_CERT_PATH is set but TEMPORAL_TLS_CLIENT_KEY_PATH is not; mTLS needs both',
    );
    expect(() => loadConfig({ TEMPORAL_TLS_CLIENT_KEY_PATH: '/c.key' })).toThrow(
      'TEMPORAL_TLS_CLIENT_KEY_PATH is set but TEMPORAL_TLS_CLIENT_CERT_PATH is not',
    );
    expect(() => loadConfig({ PIPEWRIGHT_PAYLOAD_KEYS: 'a:b', PIPEWRIGHT_PAYLOAD_KEY_FILE: '/k' })).toThrow('both set; keep one');
    expect(loadConfig({ PIPEWRIGHT_PAYLOAD_KEYS: 'k1:AAAA' }).payloadKeys).toEqual({ source: 'PIPEWRIGHT_PAYLOAD_KEYS', value: 'k1:AAAA' });
    expect(() => loadConfig({ PIPEWRIGHT_ARTIFACT_STORE: 'gs://bucket' })).toThrow('PIPEWRIGHT_ARTIFACT_STORE=gs://bucket is neither file:///absolute/path');
    expect(() => loadConfig({ PIPEWRIGHT_ARTIFACT_STORE: 's3://Bad_Bucket' })).toThrow('bucket names: 3-63 lowercase letters');
    expect(loadConfig({ PIPEWRIGHT_ARTIFACT_STORE: '/data/artifacts' }).artifactStore).toBe('file:///data/artifacts');
    expect(loadConfig({ TEMPORAL_TLS: 'true', TEMPORAL_API_KEY: 'key' }).temporalAuth).toMatchObject({ tls: true, apiKey: 'key' });
    expect(() => loadConfig({ PIPEWRIGHT_TEMPORAL_CLUSTER: 'sometimes' })).toThrow('PIPEWRIGHT_TEMPORAL_CLUSTER=sometimes is neither on nor off.');
    expect(loadConfig({ PIPEWRIGHT_BIND_HOST: '0.0.0.0' }).bindHost).toBe('0.0.0.0');
    expect(() => loadConfig({ PIPEWRIGHT_BIND_HOST: 'db.internal' })).toThrow('PIPEWRIGHT_BIND_HOST=db.internal is not an IPv4 address');
    expect(() => loadConfig({ PIPEWRIGHT_BIND_HOST: '10.0.0.300' })).toThrow('PIPEWRIGHT_BIND_HOST=10.0.0.300 is not an IPv4 address');
  });

  test('explicit URLs win over the derived ones', () => {
    const config = loadConfig({
      PIPEWRIGHT_SERVE_PORT: '9000',
      PIPEWRIGHT_SERVE_URL: 'http://models:9000',
      PIPEWRIGHT_TEMPORAL_UI_URL: 'https://temporal.example.com',
    });
    expect(config.serveUrl).toBe('http://models:9000');
    expect(config.temporalUiUrl).toBe('https://temporal.example.com');
  });

  test('the Web UI link of the embedded dev server follows its UI port', () => {
    expect(loadConfig({ PIPEWRIGHT_TEMPORAL_UI_PORT: '18233' }).temporalUiUrl).toBe('http://localhost:18233');
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', PIPEWRIGHT_TEMPORAL_UI_URL: 'https://ui.internal' }).temporalUiUrl).toBe(
      'https://ui.internal',
    );
  });

  test.each(['0', '-2', 'many', '1.5'])('rejects the slot count %p with a message naming the variable', (raw) => {
    expect(() => loadConfig({ PIPEWRIGHT_CPU_SLOTS: raw })).toThrow(`PIPEWRIGHT_CPU_SLOTS=${raw} is not a positive integer; set it to 1 or more, or unset it.`);
  });

  test('an unknown TensorFlow.js backend lists the valid ones', () => {
    expect(() => loadConfig({ PIPEWRIGHT_TF_BACKEND: 'cuda' })).toThrow('PIPEWRIGHT_TF_BACKEND=cuda is not one of auto, tensorflow, webgpu, wasm, cpu.');
  });

  test('resolves a relative home against the working directory', () => {
    expect(loadConfig({ PIPEWRIGHT_HOME: 'state/pw' }).home).toBe(path.join(process.cwd(), 'state', 'pw'));
  });

  test.each(['abc', '0', '-1', '65536', '80.5', '1e9'])('rejects the port %p with a message naming the variable', (raw) => {
    expect(() => loadConfig({ PIPEWRIGHT_TEMPORAL_PORT: raw })).toThrow(
      `PIPEWRIGHT_TEMPORAL_PORT=${raw} is not a valid port number; set it to an integer between 1 and 65535 or unset it.`,
    );
  });

  test('validates every port variable', () => {
    for (const name of ['PIPEWRIGHT_TEMPORAL_UI_PORT', 'PIPEWRIGHT_POSTGRES_PORT', 'PIPEWRIGHT_SERVE_PORT']) {
      expect(() => loadConfig({ [name]: 'http' })).toThrow(`${name}=http is not a valid port number`);
    }
  });

  test('accepts the extreme valid ports', () => {
    expect(loadConfig({ PIPEWRIGHT_SERVE_PORT: '1' }).servePort).toBe(1);
    expect(loadConfig({ PIPEWRIGHT_SERVE_PORT: '65535' }).servePort).toBe(65535);
  });

  test('reads only the environment it is given', () => {
    // A bad value in the real process environment must not leak into loadConfig(env).
    const saved = process.env.PIPEWRIGHT_SERVE_PORT;
    process.env.PIPEWRIGHT_SERVE_PORT = 'not-a-port';
    try {
      expect(loadConfig({}).servePort).toBe(8501);
      expect(() => loadConfig()).toThrow('PIPEWRIGHT_SERVE_PORT=not-a-port is not a valid port number');
    } finally {
      if (saved === undefined) delete process.env.PIPEWRIGHT_SERVE_PORT;
      else process.env.PIPEWRIGHT_SERVE_PORT = saved;
    }
  });
});

describe('childEnvironment', () => {
  test("passes this process's environment on, with overrides set and undefined ones removed", () => {
    const env = childEnvironment({ PIPEWRIGHT_HOME: '/tmp/x', PATH: undefined });
    expect(env.PIPEWRIGHT_HOME).toBe('/tmp/x');
    expect('PATH' in env).toBe(false);
    expect(env.HOME).toBe(process.env.HOME);
  });
});
