/** What a mutation helper hands back: the value, or the error for the caller to show in place. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function attempt<T>(action: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await action() };
  } catch (error) {
    return { ok: false, error };
  }
}
