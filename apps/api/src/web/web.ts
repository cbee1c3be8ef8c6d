import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';

/** Paths the dashboard never handles: the API answers them itself (REST, Socket.IO, SCIM 2.0 of issue 16). */
const API_PATH = /^\/(api|socket\.io|scim)(\/|$)/;

/** `'sha256-…'` sources for each inline `<script>` of the dashboard's index.html (SvelteKit's boot script). */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script(?:\s[^>]*)?>([\s\S]*?)<\/script>/g)]
    .map((match) => match[1] ?? '')
    .filter((body) => body.trim().length > 0)
    .map((body) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`);
}

export interface Dashboard {
  /** The `'sha256-…'` sources the Content-Security-Policy must allow. */
  readonly scriptHashes: string[];
  readonly handler: express.RequestHandler;
}

/**
 * Serves the built dashboard (apps/web/build) on the API's port: files as they are, and
 * index.html for every other GET outside /api, /socket.io and /scim (the SPA routes itself).
 * Null when there is no build.
 */
export function loadDashboard(webRoot: string | null): Dashboard | null {
  const indexFile = webRoot ? join(webRoot, 'index.html') : null;
  if (!webRoot || !indexFile || !existsSync(indexFile)) return null;
  const indexHtml = readFileSync(indexFile, 'utf8');
  const immutable = express.static(join(webRoot, '_app', 'immutable'), { index: false, maxAge: '1y', immutable: true });
  const files = express.static(webRoot, { index: false, maxAge: '1h' });
  const handler = (request: Request, response: Response, next: NextFunction) => {
    if (API_PATH.test(request.path)) return next();
    const serve = request.path.startsWith('/_app/immutable/') ? immutable : files;
    const url = request.url;
    if (serve === immutable) request.url = url.slice('/_app/immutable'.length);
    serve(request, response, () => {
      request.url = url;
      if (request.method !== 'GET' && request.method !== 'HEAD') return next();
      response.setHeader('Cache-Control', 'no-cache');
      response.type('html').send(indexHtml);
    });
  };
  return { scriptHashes: inlineScriptHashes(indexHtml), handler };
}
