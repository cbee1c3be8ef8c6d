/**
 * A long list's first render, a batch per task (issue 21): `items` is the first `size` of `list()`,
 * then `size` more after each `setTimeout(0)`, the browser free in between to paint and answer input,
 * until all are there (`complete`). One task rendering fifty activity entries, or two hundred people
 * in two menus, kept a slow phone busy for a quarter of a second and more after the first paint:
 * Lighthouse's total blocking time is what a task runs beyond 50 ms. After that first fill every
 * change (a live entry, "Show older", other filters) renders at once, as before.
 *
 * Call it while a component initialises (it owns an effect); the list is read through a function so
 * that it stays reactive.
 */
export function inBatches<T>(
  list: () => readonly T[],
  size: number,
): { readonly items: readonly T[]; readonly complete: boolean } {
  let shown = $state(size);
  $effect(() => {
    if (shown === Infinity) return;
    const length = list().length;
    if (shown >= length) {
      if (length > 0) shown = Infinity;
      return;
    }
    const timer = setTimeout(() => (shown += size), 0);
    return () => clearTimeout(timer);
  });
  const items = $derived.by(() => {
    const all = list();
    return shown >= all.length ? all : all.slice(0, shown);
  });
  return {
    get items() {
      return items;
    },
    get complete() {
      return shown >= list().length;
    },
  };
}
