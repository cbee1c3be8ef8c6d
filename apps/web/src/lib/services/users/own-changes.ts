/**
 * Changes made from this tab, so their live echo is not announced as someone else's.
 */
import { type MemberDto } from '@rolecall/contracts';

/**
 * Changes this tab made, so the page does not announce their live echo as someone else's change:
 * members being changed right now (by id or email), the member versions our changes produced, and
 * for answers without a member version (removals, transfers) the members touched a moment ago.
 */
class OwnChanges {
  #inFlight = new Map<string, number>();
  #versions = new Set<string>();
  #recent = new Map<string, number>();

  /** Marks `keys` (member ids, emails) as ours while `work` runs, then remembers what it produced. */
  async around<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    for (const key of keys) this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    let value: T | undefined;
    try {
      value = await work();
      return value;
    } finally {
      for (const key of keys) {
        const count = (this.#inFlight.get(key) ?? 1) - 1;
        if (count > 0) this.#inFlight.set(key, count);
        else this.#inFlight.delete(key);
      }
      const produced = versionsOf(value);
      if (produced.length) produced.forEach(([id, version]) => this.#versions.add(`${id}@${version}`));
      else for (const key of keys) this.#recent.set(key, Date.now() + 3000);
    }
  }

  isMine(member: { id: string; email?: string; version?: number }): boolean {
    const keys = member.email ? [member.id, member.email] : [member.id];
    if (keys.some((key) => this.#inFlight.has(key))) return true;
    if (member.version !== undefined && this.#versions.has(`${member.id}@${member.version}`)) return true;
    const now = Date.now();
    return keys.some((key) => (this.#recent.get(key) ?? 0) > now);
  }
}

/** The members (id, version) in an answer: a member, or `{ items: members }`. */
function versionsOf(value: unknown): [string, number][] {
  const one = (v: unknown): [string, number] | null =>
    typeof v === 'object' &&
    v !== null &&
    'email' in v &&
    typeof (v as MemberDto).id === 'string' &&
    typeof (v as MemberDto).version === 'number'
      ? [(v as MemberDto).id, (v as MemberDto).version]
      : null;
  if (typeof value === 'object' && value !== null && Array.isArray((value as { items?: unknown }).items)) {
    return (value as { items: unknown[] }).items.map(one).filter((pair): pair is [string, number] => pair !== null);
  }
  const single = one(value);
  return single ? [single] : [];
}

export const ownChanges = new OwnChanges();

// ── Mutations ──────────────────────────────────────────────────────────────────────────────
