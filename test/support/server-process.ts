/** The real server as operators run it: `node dist/server.js` in a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { childEnv, freePort } from '../helpers.js';

const SERVER = path.resolve('dist', 'server.js');

export interface ServerChild {
  origin: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `node dist/server.js` run in `cwd` with `env` (over childEnv), on a free port, once /healthz answers. */
export async function startServer(env: Record<string, string>, cwd: string): Promise<ServerChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    cwd,
    env: childEnv({ ...env, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not answer /healthz:\n${output}`);
    }
    try {
      if ((await fetch(`${origin}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    origin,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
