import { readFileSync } from 'node:fs';
import type { TemporalAuthConfig } from '../config';

/**
 * The TLS and API key options of a Temporal connection, shaped as both the client's `Connection`
 * and the worker's `NativeConnection` take them (`tls`, `apiKey`). Certificate files are read here,
 * once, so a missing or unreadable file fails at start-up naming its setting.
 */
export interface TemporalSecurity {
  tls?: true | { serverNameOverride?: string; serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } };
  apiKey?: string;
}

function pemFile(variable: string, file: string, marker: RegExp): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(
      `${variable}=${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at a PEM file or unset it.`,
      {
        cause: err,
      },
    );
  }
  if (!marker.test(bytes.toString('latin1')))
    throw new Error(`${variable}=${file} is not a PEM file of the expected kind (no "-----BEGIN ...-----" block matching ${marker.source}).`);
  return bytes;
}

export function temporalSecurity(auth: TemporalAuthConfig): TemporalSecurity {
  const files = auth.clientCertPath || auth.serverCaCertPath || auth.serverName;
  const security: TemporalSecurity = {};
  if (files) {
    security.tls = {
      ...(auth.serverName ? { serverNameOverride: auth.serverName } : {}),
      ...(auth.serverCaCertPath
        ? { serverRootCACertificate: pemFile('TEMPORAL_TLS_SERVER_CA_CERT_PATH', auth.serverCaCertPath, /-----BEGIN CERTIFICATE-----/) }
        : {}),
      ...(auth.clientCertPath && auth.clientKeyPath
        ? {
            clientCertPair: {
              crt: pemFile('TEMPORAL_TLS_CLIENT_CERT_PATH', auth.clientCertPath, /-----BEGIN CERTIFICATE-----/),
              key: pemFile('TEMPORAL_TLS_CLIENT_KEY_PATH', auth.clientKeyPath, /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/),
            },
          }
        : {}),
    };
  } else if (auth.tls || auth.apiKey) {
    // An API key travels only over TLS (Temporal Cloud); the system's CAs check the server.
    security.tls = true;
  }
  if (auth.apiKey) security.apiKey = auth.apiKey;
  return security;
}

/** How a failed connection should be explained: the TLS settings in play, if any, are the likely cause. */
export function securityHint(auth: TemporalAuthConfig): string {
  if (auth.clientCertPath)
    return " Check TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH (the server must trust that certificate) and TEMPORAL_TLS_SERVER_CA_CERT_PATH / TEMPORAL_TLS_SERVER_NAME (they must match the server's certificate).";
  if (auth.apiKey) return ' Check TEMPORAL_API_KEY and that the namespace accepts API keys.';
  if (auth.tls) return ' TEMPORAL_TLS is on: check that the server speaks TLS with a certificate the system trusts.';
  return '';
}
