import { createServer, STATUS_CODES } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RequestHandler } from './app.js';
import { NO_SNIFFING_OR_FRAMING } from './standing-headers.js';

/** Slow clients (SPEC §4): headers within 10 s, the whole request within 30 s. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops accepting, lets in-flight requests and their handlers finish for up to `graceMs`, then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(handle: RequestHandler, port: number, host: string): Promise<RunningServer> {
  const inFlight = new InFlight();
  const server = createServer(
    // Node only checks those deadlines every `connectionsCheckingInterval` (30 s by default).
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    (request, response) => {
      const handled = handle(request, response);
      if (handled) inFlight.track(handled);
    },
  );
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 10_000) => closeGracefully(server, inFlight, graceMs),
  };
}

/** A refused request reaches no route, and gets what every answer carries but HSTS (which needs the issuer). */
const RAW_STANDING_HEADERS = Object.entries(NO_SNIFFING_OR_FRAMING)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');

/** What Node refuses before any route runs, by its parser's or its own error code. */
const CLIENT_ERRORS: Record<string, [status: number, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request took too long to arrive'],
};

/**
 * Answers a request Node refused itself (headers too large, a malformed request, a client
 * past its deadline) in the API's error shape, as Node would otherwise answer it with a
 * bare status line; then closes the connection, as Node does. A connection that already
 * carried an answer, or can no longer take one, is only closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || socket.bytesWritten > 0) return void socket.destroy(error);
  const [status, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'Malformed HTTP request'];
  const body = JSON.stringify({ error: message, code: 'invalid_request' });
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\n${RAW_STANDING_HEADERS}Connection: close\r\n\r\n${body}`,
  );
  socket.destroy(error);
}

/**
 * Requests whose handling has not ended. A handler outlives its connection when the
 * client hangs up mid-request; closing the stores under it would fail its writes.
 */
class InFlight {
  #count = 0;
  #onIdle: (() => void)[] = [];

  track(handled: Promise<void>): void {
    this.#count++;
    // Koa settles this itself; a rejection (a throwing 'error' listener) stays unhandled, as before.
    void handled.finally(() => {
      if (--this.#count === 0) for (const resolve of this.#onIdle.splice(0)) resolve();
    });
  }

  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#onIdle.push(resolve));
  }
}

/** Stops accepting, then waits for every connection to close and every handler to end, for up to `graceMs`. */
async function closeGracefully(server: Server, inFlight: InFlight, graceMs: number): Promise<void> {
  let force: NodeJS.Timeout | undefined;
  const graceOver = new Promise<void>((resolve) => {
    force = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Handlers are counted once no connection is left: until then a request still arriving can start one.
  await Promise.race([closed.then(() => inFlight.idle()), graceOver.then(() => closed)]);
  clearTimeout(force);
}
