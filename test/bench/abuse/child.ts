import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * A forked helper process of the abuse benchmark (probe.mjs, flood.mjs): request/reply over IPC.
 * Each runs on plain `node`, with its own V8 and event loop, so the clients' work is not the
 * server's and the probe's clock is not held up by either.
 */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { type: string; id: number }) => {
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message as never);
    });
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`helper process exited (${code})`));
      this.pending.clear();
    });
  }

  /** `niceness` (0–19) lowers the child's CPU priority: see abuse.bench-run.ts on the flood's. */
  static async start(script: 'probe.mjs' | 'flood.mjs', niceness = 0): Promise<Child> {
    const child = fork(fileURLToPath(new URL(`./${script}`, import.meta.url)), [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (niceness && child.pid) setPriority(child.pid, niceness);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${script} exited early (${code})`)));
    });
    return new Child(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<T>(type: string, body: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      this.child.send({ type, id, ...body });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await Promise.race([this.call('exit').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
