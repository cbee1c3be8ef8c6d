// Preloaded into every API process the tests spawn (`NODE_OPTIONS=--require …`, see process-guard.ts):
// an unhandled rejection or uncaught exception prints one line the tests look for. It changes
// nothing else: with no other listener, an unhandled rejection still ends the process (exit 1) as
// Node's default does; with one (the app's own), that listener decides.
'use strict';
const MARK = '[process-guard]';
const describe = (value) => (value instanceof Error ? value.stack || value.message : String(value));

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`${MARK} unhandledRejection: ${describe(reason)}\n`);
  if (process.listenerCount('unhandledRejection') === 1) throw reason;
});
process.on('uncaughtExceptionMonitor', (error, origin) => {
  if (origin === 'uncaughtException') process.stderr.write(`${MARK} uncaughtException: ${describe(error)}\n`);
});
