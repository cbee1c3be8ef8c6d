/**
 * The API's layers, one direction (issue 19; README "## Layout" has the diagram). Lowest first:
 *
 *   1. foundation   common/ (with common/observability/), config.ts — imports nothing else of apps/api/src
 *   2. persistence  database/ (schema, migrations, data source, the mutation path), events/ (the bus)
 *   3. infra        infra/ (Redis connection, mail transport and outbox, rate limiting, session cookie)
 *   4. concerns     every other folder (accounts/, members/, live/, …): imports layers 1–3 and libs/,
 *                   never another concern — except a NAMED_INTERFACES file
 *   5. root         app.module.ts, app.factory.ts, main.ts, graceful-shutdown.ts, seed-demo.ts: wires everything
 *
 * `npm run lint` runs this (`npm run lint:layers`): any import that breaks a rule fails, with no list
 * of known exceptions (the last 291 cross-concern imports were untangled in issue 19).
 */
const SRC = '^apps/api/src/';
const LOWER = '(?:common|database|events|infra)';
/**
 * webhooks/webhooks.config.ts is read by config.ts and imports nothing of the API: it counts as
 * foundation (it stays in webhooks/, where the browser tests import it by path).
 */
const FOUNDATION = `${SRC}common/|${SRC}config\\.ts$|${SRC}webhooks/webhooks\\.config\\.ts$`;
const PERSISTENCE = `${SRC}(?:database|events)/`;
const INFRA = `${SRC}infra/`;
/** A concern folder; `$1` is its name. */
const CONCERN = `${SRC}(?!${LOWER}/)([^/]+)/`;
const ANY_CONCERN = `${SRC}(?!${LOWER}/)[^/]+/`;

/**
 * Files a concern may publish to other concerns, where one use-case truly spans two. Empty: the
 * last three (the activity export line, the live gateway for the graceful shutdown, the invitation
 * issuer) went down to database/, the root and infra/. Add one only with its reason, and name it in
 * the README's Layout.
 */
const NAMED_INTERFACES = [];

module.exports = {
  forbidden: [
    {
      name: 'foundation-is-the-bottom',
      comment: 'common/ (logs and metrics in common/observability/) and config.ts import nothing else of the API (layer 1).',
      severity: 'error',
      from: { path: FOUNDATION },
      to: { path: SRC, pathNot: FOUNDATION },
    },
    {
      name: 'persistence-below-infra-and-concerns',
      comment: 'database/ and events/ import only the foundation and each other (layer 2).',
      severity: 'error',
      from: { path: PERSISTENCE },
      to: { path: SRC, pathNot: [FOUNDATION, PERSISTENCE] },
    },
    {
      name: 'infra-below-concerns',
      comment: 'infra/ imports only the foundation, database/ and events/ (layer 3).',
      severity: 'error',
      from: { path: INFRA },
      to: { path: SRC, pathNot: [FOUNDATION, PERSISTENCE, INFRA] },
    },
    {
      name: 'no-cross-concern',
      comment:
        'A concern folder imports layers 1–3 and libs/, never another concern (except NAMED_INTERFACES). ' +
        'Move the shared piece down (an entity or persistence helper to database/, plumbing to infra/).',
      severity: 'error',
      from: { path: CONCERN },
      to: { path: ANY_CONCERN, pathNot: [`${SRC}$1/`, ...NAMED_INTERFACES] },
    },
    {
      name: 'nothing-imports-the-root',
      comment:
        'app.module.ts, app.factory.ts, main.ts, graceful-shutdown.ts and seed-demo.ts wire the app; only config.ts is shared.',
      severity: 'error',
      from: { path: `${SRC}[^/]+/` },
      to: { path: `${SRC}[^/]+\\.ts$`, pathNot: `${SRC}config\\.ts$` },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles between files of the API.',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: SRC,
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
      conditionNames: ['@rolecall/source', 'import', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
