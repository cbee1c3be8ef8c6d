/**
 * `run` once, `ms` after the first call of a burst: a page that re-reads its counts after member
 * events sends one request per burst, not one per event. `cancel()` when the page goes away.
 */
export function soon(run: () => void, ms = 250): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      run();
    }, ms);
  };
  schedule.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return schedule;
}
