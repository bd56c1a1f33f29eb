import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMIN_PASSWORD } from './server.js';

/** What `npm start` and the image run. */
export const ENTRY = resolve(import.meta.dirname, '../../dist/src/start.cjs');

/** The built server as a child process: what `npm start` runs, so signals and crashes are real. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  api: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code (or the signal that ended it). */
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

/** `args` are `command`'s: node's by default, running the built server or a script that runs it. */
export async function spawnServer(env: Record<string, string>, port?: number, args: string[] = [ENTRY], command = process.execPath): Promise<ServerProcess> {
  const listenPort = port ?? (await freePort());
  const child = spawn(command, args, {
    // One process unless a test asks for workers: a kill then means what it says.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), PORT: String(listenPort), HOST: '127.0.0.1', AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD, WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  await waitUntilHealthy(listenPort, exited, () => output);
  return {
    child,
    port: listenPort,
    api: `http://127.0.0.1:${listenPort}/api/v1/auth`,
    output: () => output,
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

async function waitUntilHealthy(port: number, exited: Promise<unknown>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`server exited during start-up:\n${output()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy:\n${output()}`);
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
    probe.on('error', fail);
  });
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pico-auth-proc-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `condition` every 50 ms, for up to 10 s. */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
