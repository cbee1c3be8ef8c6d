/**
 * Resolves once the next frame has been painted (a task queued from `requestAnimationFrame` runs
 * after it), or after 200 ms in a tab that paints nothing (a background tab gets no frames).
 *
 * For work a page's first paint does not need (issue 21): its rows' data, the live connection. The
 * page shows its frame and headings first; what comes after no longer holds the first paint back.
 */
export function afterPaint(): Promise<void> {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 200);
  });
}

/** The first reads of the page being opened (`holdForFirstContent`), until `afterFirstContent` has seen them. */
const firstReads = new Set<Promise<unknown>>();
/** How long work after the first content waits for slow first reads at most. */
const FIRST_CONTENT_MS = 3_000;

/**
 * The page's main content comes from `read` (the profile's member and roles): work that
 * `afterFirstContent` defers waits for it as well as for the first paint.
 */
export function holdForFirstContent(read: Promise<unknown>): void {
  firstReads.add(read);
  // A read that has settled holds nothing back (and a profile opened later in the tab, after the
  // live connection is up, must not pile reads up here).
  const drop = () => firstReads.delete(read);
  read.then(drop, drop);
}

/**
 * Resolves once the page's first frame has painted, then its first reads have settled (at most
 * FIRST_CONTENT_MS) and the frame showing them has painted. For the live connection's ~47 KB of
 * script (lib/live): on a slow phone it would otherwise be fetched and run between a page's frame
 * and its content, holding the content's paint back (the profile's LCP, issue 21).
 */
export async function afterFirstContent(): Promise<void> {
  await afterPaint();
  if (firstReads.size === 0) return;
  const reads = [...firstReads];
  await Promise.race([Promise.allSettled(reads), new Promise((resolve) => setTimeout(resolve, FIRST_CONTENT_MS))]);
  await afterPaint();
}
