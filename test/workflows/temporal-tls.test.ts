/**
 * Clients and pools connect over mutual TLS from Temporal's own settings (TEMPORAL_TLS_*): a TLS
 * front that demands a client certificate (as a cluster's frontend with `requireClientAuth` does)
 * relays to a real dev server. Certificates come from openssl, made fresh for the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { temporalSecurity } from '../../lib/connection/temporal-security';
import { connectClient } from '../../scripts/client/pipeline-client';
import { useWorkflowEnvironment } from './helpers';

const suite = useWorkflowEnvironment();
let dir: string;
let front: tls.Server;
let frontAddress: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for "temporal.test" and a client certificate, all signed by the CA; and a second, untrusted CA. */
function makeCertificates(): void {
  for (const ca of ['ca', 'rogue-ca'])
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:temporal.test\nextendedKeyUsage=serverAuth\n');
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, signer] of [
    ['server', 'ca'],
    ['client', 'ca'],
    ['rogue-client', 'rogue-ca'],
  ] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    const ext = name === 'server' ? 'server.ext' : 'client.ext';
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${signer}.pem`,
      '-CAkey',
      `${signer}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      `${name}.pem`,
    );
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipewright-tls-'));
  makeCertificates();
  const [host, port] = suite.env.address.split(':');
  // TLS with a required client certificate in front of the dev server's plaintext gRPC (HTTP/2 both sides).
  front = tls.createServer(
    {
      key: readFileSync(path.join(dir, 'server.key')),
      cert: readFileSync(path.join(dir, 'server.pem')),
      ca: readFileSync(path.join(dir, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host);
      socket.pipe(upstream).pipe(socket);
      const close = (): void => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    },
  );
  front.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontAddress = `127.0.0.1:${(front.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => front?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string): string => path.join(dir, name);
const mtls = (overrides: Record<string, string> = {}) =>
  loadConfig({
    TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    ...overrides,
  });

test('the client and a pool connect with the configured client certificate', async () => {
  const config = mtls();
  const client = await connectClient(frontAddress, 'default', config);
  try {
    const info = await client.workflowService.getSystemInfo({});
    expect(info.serverVersion).toMatch(/^\d+\.\d+/);
  } finally {
    await client.connection.close();
  }
  const native = await NativeConnection.connect({ address: frontAddress, ...temporalSecurity(config.temporalAuth) });
  try {
    expect((await native.workflowService.getSystemInfo({})).serverVersion).toMatch(/^\d+\.\d+/);
  } finally {
    await native.close();
  }
});

test('a client certificate the server does not trust, none, or a server certificate from another CA: refused with a hint at the TLS settings', async () => {
  const rogue = mtls({ TEMPORAL_TLS_CLIENT_CERT_PATH: file('rogue-client.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: file('rogue-client.key') });
  const serverOnly = loadConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'temporal.test' });
  const wrongCa = mtls({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('rogue-ca.pem') });
  // Side by side: each waits out the client's connect timeout.
  await Promise.all([
    expect(connectClient(frontAddress, 'default', rogue)).rejects.toThrow('Check TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH'),
    expect(connectClient(frontAddress, 'default', serverOnly)).rejects.toThrow(`cannot reach Temporal at ${frontAddress}`),
    expect(connectClient(frontAddress, 'default', wrongCa)).rejects.toThrow('TEMPORAL_TLS_SERVER_CA_CERT_PATH / TEMPORAL_TLS_SERVER_NAME'),
  ]);
});

test('missing or mistaken certificate files fail before connecting, naming the setting', () => {
  expect(() => temporalSecurity(mtls({ TEMPORAL_TLS_CLIENT_KEY_PATH: file('nope.key') }).temporalAuth)).toThrow(
    `TEMPORAL_TLS_CLIENT_KEY_PATH=${file('nope.key')} cannot be read (ENOENT)`,
  );
  expect(() => temporalSecurity(mtls({ TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.pem') }).temporalAuth)).toThrow(
    `TEMPORAL_TLS_CLIENT_KEY_PATH=${file('client.pem')} is not a PEM file of the expected kind`,
  );
  expect(temporalSecurity(loadConfig({ TEMPORAL_API_KEY: 'abc' }).temporalAuth)).toEqual({ tls: true, apiKey: 'abc' });
});
