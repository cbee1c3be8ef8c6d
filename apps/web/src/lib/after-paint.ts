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
