import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The machine clock shared by both processes. */
export const now = (): number => performance.timeOrigin + performance.now();

export interface GroupSpec {
  name: string;
  /** A server → client event name, or `disconnect`. */
  event: string;
  sockets: number[];
  /** Only an event whose `data[path]` (dotted) equals `equals` counts. */
  match?: { path: string; equals: unknown };
}

export interface GroupResult {
  name: string;
  expected: number;
  received: number;
  /** On this process's clock (already corrected by the measured offset). */
  first: number | null;
  last: number | null;
  /** The payload of the first matching event. */
  sample: unknown;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/**
 * The forked client process (clients.mjs): request/reply over IPC, plus `done` reports of armed
 * rounds. Timestamps it reports are moved onto this process's clock with the offset measured by
 * `calibrate` (min-RTT ping, NTP style).
 */
export class ClientProcess {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly rounds = new Map<number, Pending>();
  private offset = 0;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { type: string; id: number } & Record<string, unknown>) => {
      const table = message.type === 'done' ? this.rounds : message.type === 'reply' ? this.pending : null;
      const waiter = table?.get(message.id);
      if (!waiter) return;
      table!.delete(message.id);
      waiter.resolve(message);
    });
    child.on('exit', (code) => {
      const error = new Error(`client process exited (${code})`);
      for (const waiter of [...this.pending.values(), ...this.rounds.values()]) waiter.reject(error);
      this.pending.clear();
      this.rounds.clear();
    });
  }

  /** `script`: another client program speaking the same IPC (test/bench/scale-out/clients.mjs). */
  static async start(script = fileURLToPath(new URL('./clients.mjs', import.meta.url))): Promise<ClientProcess> {
    // Its own V8 flags only (not vitest's worker flags); room for 10k client sockets.
    const child = fork(script, [], {
      execArgv: ['--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`client process exited early (${code})`)));
    });
    const instance = new ClientProcess(child);
    await instance.calibrate();
    return instance;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Offset of the child's clock from ours, in ms (positive: the child is ahead). */
  get clockOffset(): number {
    return this.offset;
  }

  call<T = Record<string, unknown>>(type: string, body: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: Record<string, unknown>) => void, reject });
      this.child.send({ type, id, ...body });
    });
  }

  async calibrate(samples = 30): Promise<void> {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < samples; i += 1) {
      const sent = now();
      const { now: theirs } = await this.call<{ now: number }>('clock');
      const received = now();
      const rtt = received - sent;
      if (rtt < best.rtt) best = { rtt, offset: theirs - (sent + received) / 2 };
    }
    this.offset = best.offset;
  }

  /**
   * Arms a round; resolves once the client process is armed, with the round's results to await
   * (wrapped: an async function returning a bare promise would wait for it).
   */
  async arm(groups: GroupSpec[], timeoutMs: number): Promise<{ results: Promise<GroupResult[]> }> {
    const id = this.nextId++;
    const done = new Promise<Record<string, unknown>>((resolve, reject) => this.rounds.set(id, { resolve, reject }));
    await new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve: () => resolve(), reject });
      this.child.send({ type: 'arm', id, groups, timeoutMs });
    });
    return {
      results: done.then((message) =>
        (message['groups'] as GroupResult[]).map((group) => ({
          ...group,
          first: group.first === null ? null : group.first - this.offset,
          last: group.last === null ? null : group.last - this.offset,
        })),
      ),
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await Promise.race([this.call('exit'), new Promise((resolve) => setTimeout(resolve, 2000))]);
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
