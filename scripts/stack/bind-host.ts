import { isIPv4 } from 'node:net';

/**
 * Where an embedded service (Temporal, PostgreSQL, the S3 server) listens, and the address the
 * stack hands out for it (stack.json, its children's TEMPORAL_ADDRESS, DATABASE_URL and
 * PIPEWRIGHT_S3_ENDPOINT), from PIPEWRIGHT_BIND_HOST.
 */
export interface BindAddress {
  /** The IP the service listens on. */
  listen: string;
  /** The IP clients are given: the bind host itself, or loopback when it listens on every interface. */
  advertise: string;
}

/**
 * 127.0.0.1 (the default): loopback only. Another IP of this machine: the services listen on it and
 * the stack hands it out, so pools on other machines and on this one use the same addresses.
 * 0.0.0.0: every interface, while processes on this machine are given loopback.
 */
export function bindAddress(host: string): BindAddress {
  if (!isIPv4(host))
    throw new Error(`PIPEWRIGHT_BIND_HOST=${host} is not an IPv4 address; use 127.0.0.1 (default), 0.0.0.0 (every interface), or one of this machine's IPs.`);
  return { listen: host, advertise: host === '0.0.0.0' ? '127.0.0.1' : host };
}

/** True for 127.0.0.0/8: nothing off this machine can reach a service bound there. */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.');
}

/** For a service that did not start: the other cause to suspect when it was to listen on an IP of its own. */
export function notHere(listen: string): string {
  return isLoopback(listen) || listen === '0.0.0.0' ? '' : `, or is ${listen} (PIPEWRIGHT_BIND_HOST) not an address of this machine`;
}

/**
 * The clients embedded PostgreSQL admits over the network (a pg_hba.conf address) for a bind host:
 * none on loopback (initdb's own lines admit loopback), the bind host's /24 for an IP of this
 * machine, every IPv4 address for 0.0.0.0. Each still needs the password.
 */
export function admittedNetwork(host: string): string | undefined {
  if (isLoopback(host)) return undefined;
  if (host === '0.0.0.0') return '0.0.0.0/0';
  const [a, b, c] = host.split('.');
  return `${a}.${b}.${c}.0/24`;
}
