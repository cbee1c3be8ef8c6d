/**
 * GETs started before the code that reads them, by path: the session probe that app.html preloads is
 * taken over at boot (hooks.client.ts), so the (app) layout's `GET /auth/session` finds its answer on
 * the way instead of asking only once every script of the page has loaded (issue 21). Each is read
 * once, within EARLY_MS, and any write drops them all (`api.ts`): a probe from before a sign-in (or a
 * sign-out) is never what `loadMe` sees after it. A module of its own, without the API client, so the
 * boot hook that starts it stays small.
 */
const early = new Map<string, { response: Promise<Response>; at: number }>();
const EARLY_MS = 10_000;

/** `path` under `/api/v1`, as `api.get` takes it. */
export function startEarly(path: string): void {
  // Same URL, mode and credentials as app.html's <link rel="preload" as="fetch"
  // crossorigin="use-credentials">, and no header the preload did not send: Chromium hands this
  // fetch the preload's answer (one request; checked in the browser).
  const response = fetch(`/api/v1${path}`, { credentials: 'include' });
  // Read to the end even where no page asks for it (the public pages): an as=fetch preload nobody
  // consumes could stay open in Chromium until the page was left (dashboard-serving's CI flake).
  response.then((answer) => answer.clone().arrayBuffer()).catch(() => undefined);
  early.set(path, { response, at: Date.now() });
}

/** The early answer for `path`, once, if it is still fresh. */
export function takeEarly(path: string): Promise<Response> | undefined {
  const entry = early.get(path);
  if (!entry) return undefined;
  early.delete(path);
  return Date.now() - entry.at <= EARLY_MS ? entry.response : undefined;
}

export function dropEarly(): void {
  early.clear();
}
