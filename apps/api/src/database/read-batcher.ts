/**
 * Reads of one key each, made close together, answered by one read of many keys (issue 18: the live
 * handshake's session read in a reconnect storm). Callers that ask within one turn of the event loop
 * (`setImmediate`) go out together, at most `maxBatch` at a time; while `maxInFlight` batches are out,
 * newcomers gather for the next, so a storm's handshakes share statements and a lone one waits no timer.
 *
 * Nothing is kept: every call is answered by a read that starts after it was made (a batch under way
 * takes no newcomer), and a key asked twice in one batch is read once for both. `load` answers each
 * key's value (`undefined` when there is none) in a map; what a caller makes of it is its own affair,
 * so one caller's value never decides another's. When `load` fails, every caller of that batch gets
 * `failed(error)` — the next batch is tried afresh.
 *
 * Hand-written rather than `dataloader`: DataLoader dispatches on its schedule whatever is already
 * out (no cap on batches in flight, which this one uses in place of a semaphore on the pool), and
 * its cache and per-key result order would have to be turned off or rebuilt; this is ~60 lines.
 */
export class ReadBatcher<K, V> {
  private queue: { key: K; resolve: (value: V | undefined) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>,
    private readonly options: {
      readonly maxBatch: number;
      readonly maxInFlight: number;
      /** What the callers of a failed batch are rejected with. */
      readonly failed: (error: unknown, keys: number) => unknown;
    },
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
        void this.run(this.queue.splice(0, this.options.maxBatch));
      }
    });
  }

  private async run(batch: typeof this.queue): Promise<void> {
    this.inFlight += 1;
    try {
      const keys = [...new Set(batch.map((entry) => entry.key))];
      let values: ReadonlyMap<K, V>;
      try {
        values = await this.load(keys);
      } catch (error) {
        const refusal = this.options.failed(error, batch.length);
        for (const entry of batch) entry.reject(refusal);
        return;
      }
      for (const entry of batch) entry.resolve(values.get(entry.key));
    } finally {
      this.inFlight -= 1;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
