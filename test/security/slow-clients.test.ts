import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_IP_LIMIT } from '../support/flows.js';
import { startTestServer } from '../support/server.js';
import type { TestServer } from '../support/server.js';

// Slow clients (SPEC §4): headers complete within 10 s, the whole request within 30 s, or
// the connection is closed, so a few sockets dripping bytes cannot hold the server.

let server: TestServer;
let port: number;
beforeAll(async () => {
  server = await startTestServer(NO_IP_LIMIT);
  port = Number(new URL(server.baseUrl).port);
});
afterAll(() => server?.stop());

/**
 * Opens a connection, sends `prefix` at once, then drips `drip` one byte per second.
 * Resolves with the milliseconds after which the server closed the connection (or
 * `giveUpMs` if it never did) and what it answered.
 */
function dripUntilClosed(prefix: string, drip: string, giveUpMs: number): Promise<{ closedAfterMs: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    let sent = 0;
    const socket: Socket = connect(port, '127.0.0.1');
    const dripper = setInterval(() => {
      if (sent < drip.length && !socket.destroyed) socket.write(drip.charAt(sent++));
    }, 1_000);
    const finish = (closedAfterMs: number) => {
      clearInterval(dripper);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closedAfterMs, answer });
    };
    const giveUp = setTimeout(() => finish(giveUpMs), giveUpMs);
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      socket.write(prefix);
    });
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    // A reset by the server is a close as well ('close' follows); failing to connect is not.
    socket.on('error', (error) => {
      if (!connected) reject(error);
    });
    socket.on('close', () => finish(Date.now() - started));
  });
}

describe.concurrent('slow clients', () => {
  it('closes a connection whose request line and headers take longer than 10 s', { timeout: 20_000 }, async () => {
    const requestLine = 'GET /api/v1/auth/jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const { closedAfterMs, answer } = await dripUntilClosed('', requestLine, 14_000);

    // Closed by the server, well before the drip (~50 s) could have finished.
    expect(closedAfterMs).toBeLessThan(12_500);
    // Not refused at once either: the drip was accepted until the deadline.
    expect(closedAfterMs).toBeGreaterThan(5_000);
    expect(answer).toMatch(/^(HTTP\/1\.1 408 |$)/);
    // When the answer gets out before the close, it is in the API's error shape.
    if (answer) expect(answer).toContain('{"error":"The request took too long to arrive","code":"invalid_request"}');
  });

  it('closes a connection whose body is not complete within 30 s (slow: ~31 s)', { timeout: 45_000 }, async () => {
    const body = JSON.stringify({ email: 'slow-client@example.com', password: 'slow-client-Pass-4471', padding: 'p'.repeat(40) });
    const headers = [
      'POST /api/v1/auth/login HTTP/1.1',
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      '',
    ].join('\r\n');
    // ~100 bytes at one per second: the body would take well over a minute.
    const { closedAfterMs, answer } = await dripUntilClosed(headers, body, 38_000);

    expect(closedAfterMs).toBeLessThan(34_000);
    expect(closedAfterMs).toBeGreaterThan(20_000);
    expect(answer).toMatch(/^(HTTP\/1\.1 408 |$)/);
    // When the answer gets out before the close, it is in the API's error shape.
    if (answer) expect(answer).toContain('{"error":"The request took too long to arrive","code":"invalid_request"}');
  });
});
