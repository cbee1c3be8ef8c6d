import { config } from 'zod/v4/core';

/**
 * Zod compiles a fast parser for each object schema with `new Function`, after probing whether
 * `eval` is allowed — a probe the dashboard's Content-Security-Policy (no 'unsafe-eval') refuses
 * and Chromium reports as a CSP issue on every page (issue 21). Jitless, zod parses with its
 * interpreter and never probes. Imported first by hooks.client.ts, before any schema is built
 * (zod reads the setting when a schema is created).
 */
config({ jitless: true });
