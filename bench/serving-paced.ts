import net from 'node:net';
import { processCpuSeconds } from './evaluation-cpu';
import { summarize, type LatencySummary } from './serving-load';

/**
 * An open-loop load at a steady rate, as a check on autocannon's `overallRate`: autocannon gives
 * each connection a quota per second that it sends back to back at the start of each second, and
 * the connections' seconds start together, so "half the load" arrives as a burst at full
 * concurrency followed by silence, and its latency is mostly that of the burst. Here request k is
 * due at start + k / rate (sent on the next 1 ms timer tick, on an idle keep-alive connection, or
 * as soon as one frees up): latency is counted from when the request was due (so a stalled server
 * is not hidden by requests not sent meanwhile) and, separately, from when it was written.
 * HTTP/1.1 over raw sockets with pre-built requests, one in flight per connection; answers are
 * read by their Content-Length, which Fastify always sends for JSON.
 */

export interface PacedResult {
  rate: number;
  connections: number;
  seconds: number;
  responses: number;
  requestsPerSec: number;
  non2xx: number;
  errors: number;
  /** From when each request was due (includes waiting for a free connection and the 1 ms tick). */
  latencyMs: LatencySummary;
  /** From when each request was written to its socket. */
  serviceMs: LatencySummary;
  /** Most requests waiting for a free connection at once. */
  maxBacklog: number;
  serverCpu: number;
  loadGeneratorCpu: number;
}

interface Conn {
  socket: net.Socket;
  buffer: Buffer;
  due: number;
  sent: number;
  busy: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export async function pacedLoad(options: {
  url: string;
  path: string;
  bodies: readonly string[];
  rate: number;
  seconds: number;
  connections: number;
  serverPid?: number;
}): Promise<PacedResult> {
  const { hostname, port } = new URL(options.url);
  const requests = options.bodies.map((body) =>
    Buffer.from(
      `POST ${options.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    ),
  );
  const latencies: number[] = [];
  const service: number[] = [];
  let responses = 0;
  let non2xx = 0;
  let errors = 0;
  let sentCount = 0;
  let next = 0;
  const backlog: number[] = [];
  let maxBacklog = 0;
  const idle: Conn[] = [];
  let start = 0;
  let stopAt = 0;

  const send = (conn: Conn, due: number): void => {
    conn.busy = true;
    conn.due = due;
    conn.sent = performance.now();
    conn.socket.write(requests[next++ % requests.length]!);
  };
  const release = (conn: Conn): void => {
    conn.busy = false;
    const due = backlog.shift();
    if (due !== undefined) send(conn, due);
    else idle.push(conn);
  };
  const onData = (conn: Conn, chunk: Buffer): void => {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
    for (;;) {
      const end = conn.buffer.indexOf(HEADER_END);
      if (end < 0) return;
      const head = conn.buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      const total = end + 4 + length;
      if (conn.buffer.length < total) return;
      conn.buffer = conn.buffer.subarray(total);
      const now = performance.now();
      const status = Number(head.slice(9, 12));
      if (conn.busy && conn.due < stopAt) {
        responses++;
        if (status >= 200 && status < 300) {
          latencies.push(now - conn.due);
          service.push(now - conn.sent);
        } else non2xx++;
      }
      release(conn);
    }
  };

  const conns = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Conn>((resolve, reject) => {
          const socket = net.connect(Number(port), hostname, () => resolve(conn));
          const conn: Conn = { socket, buffer: Buffer.alloc(0), due: 0, sent: 0, busy: false };
          socket.setNoDelay(true);
          socket.on('data', (chunk: Buffer) => onData(conn, chunk));
          socket.on('error', (err) => {
            errors++;
            reject(err);
          });
        }),
    ),
  );
  idle.push(...conns);

  const serverCpuBefore = options.serverPid ? processCpuSeconds(options.serverPid) : Number.NaN;
  const ownCpuBefore = process.cpuUsage();
  start = performance.now();
  stopAt = start + options.seconds * 1000;
  const interval = 1000 / options.rate;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const dueNow = Math.min(Math.floor((Math.min(now, stopAt) - start) / interval) + 1, Math.ceil(options.seconds * options.rate));
      while (sentCount < dueNow) {
        const due = start + sentCount++ * interval;
        const conn = idle.pop();
        if (conn) send(conn, due);
        else backlog.push(due);
      }
      maxBacklog = Math.max(maxBacklog, backlog.length);
      if (now < stopAt) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  // Let the requests in flight finish (at most 2 s), then close.
  const drainUntil = performance.now() + 2000;
  while ((backlog.length > 0 || idle.length < conns.length) && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const wall = (performance.now() - start) / 1000;
  const own = process.cpuUsage(ownCpuBefore);
  const serverCpu = options.serverPid ? (processCpuSeconds(options.serverPid) - serverCpuBefore) / wall : Number.NaN;
  for (const c of conns) c.socket.destroy();
  return {
    rate: options.rate,
    connections: options.connections,
    seconds: options.seconds,
    responses,
    requestsPerSec: responses / options.seconds,
    non2xx,
    errors,
    latencyMs: summarize(latencies),
    serviceMs: summarize(service),
    maxBacklog,
    serverCpu,
    loadGeneratorCpu: (own.user + own.system) / 1e6 / wall,
  };
}
