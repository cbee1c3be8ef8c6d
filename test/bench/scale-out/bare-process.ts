import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './processes.js';

/** A bare Socket.IO node (bare-node.mjs) in a process of its own. */
export class BareNode {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: Record<string, unknown>) => void>();
  url = '';

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: { type: string; id: number } & Record<string, unknown>) => {
      const resolve = message.type === 'reply' ? this.waiting.get(message.id) : undefined;
      if (!resolve) return;
      this.waiting.delete(message.id);
      resolve(message);
    });
  }

  static async start(input: Record<string, unknown>): Promise<BareNode> {
    const child = fork(fileURLToPath(new URL('./bare-node.mjs', import.meta.url)), [], {
      // BENCH_BARE_NODE_ARGS: extra Node.js flags for the bare nodes (as BENCH_NODE_ARGS for the API's).
      execArgv: [
        '--max-old-space-size=2048',
        ...(process.env['BENCH_BARE_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`bare node exited early (${code})`)));
    });
    const node = new BareNode(child);
    const { port } = await node.call<{ port: number }>('start', { input });
    node.url = `http://127.0.0.1:${port}`;
    return node;
  }

  call<T>(type: string, body: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.waiting.set(id, resolve as (message: Record<string, unknown>) => void);
      this.child.send({ type, id, ...body });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await Promise.race([this.call('exit'), sleep(3000)]);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
