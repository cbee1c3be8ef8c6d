import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * Bounds on what `preparingClient` prepares: statements known to the process (each connection
 * prepares those it runs, so a backend holds at most this many), parameters a statement, and its
 * text's length. A statement past any of them runs unnamed, as every statement did before.
 */
export interface PreparedLimits {
  readonly statements: number;
  readonly parameters: number;
  readonly textLength: number;
}

/**
 * 500 texts, an upper bound rather than a count of the API's fixed statements: what varies with its
 * input (`IN` lists, multi-row inserts) is mostly kept out by the 64-parameter bound, and once 500 are
 * taken the rest runs unnamed. Each backend keeps a plan for each statement it prepared, so the bound
 * also caps that memory on the database's side (×20 connections a node, POSTGRES_POOL).
 */
const PREPARED_LIMITS: PreparedLimits = { statements: 500, parameters: 64, textLength: 16_384 };

type QueryCallback = (error: Error, result: pg.QueryResult) => void;

/**
 * A node-postgres `Client` (for `new pg.Pool({ Client })`) that runs each parameterised statement
 * as a named prepared statement of its connection, named by its text's SHA-1 (issue 18).
 *
 * Why: TypeORM sends every statement unnamed, so PostgreSQL parses and plans it on every execution.
 * A role change (`PATCH /users/:id`) runs ~10 such statements; the server's log put 0.79 ms of
 * parsing and 1.52 ms of binding (planning included) beside 0.80 ms of executing them, of a request
 * answered in ~14 ms. Prepared once per pooled connection, a statement is parsed once and, after five
 * executions, planned once (PostgreSQL's plan cache: a generic plan unless it estimates worse than the
 * custom ones). The wire is the same one round trip per statement: Bind/Describe/Execute/Sync, with
 * a Parse before them only the first time on each connection.
 *
 * Only texts with 1–`parameters` parameters are prepared: transaction control and DDL (no
 * parameters) keep the simple protocol. A statement that fails (a constraint, a lock timeout) leaves
 * the prepared statement as it was; one whose Parse fails is not recorded, so the next run parses
 * again (node-postgres forgets a name whose Parse was refused).
 *
 * Off with `PG_PREPARED_STATEMENTS=off` (README "Configuration"): a pooler that hands one server
 * connection to many clients per transaction (PgBouncer in transaction mode before 1.21) loses named
 * statements between transactions; and while another version's migration changes a column's type,
 * a prepared `SELECT` of it fails once per connection ("cached plan must not change result type")
 * where an unnamed one would not.
 */
export function preparingClient(limits: PreparedLimits = PREPARED_LIMITS): typeof pg.Client {
  const names = new Map<string, string>();
  const nameOf = (text: string, values: unknown): string | null => {
    if (!Array.isArray(values) || values.length === 0 || values.length > limits.parameters) return null;
    if (text.length > limits.textLength) return null;
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= limits.statements) return null;
      name = `rc_${createHash('sha1').update(text).digest('hex')}`;
      names.set(text, name);
    }
    return name;
  };
  class PreparingClient extends pg.Client {}
  const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
  PreparingClient.prototype.query = function (this: pg.Client, ...args: unknown[]): unknown {
    const [text, values, callback] = args;
    const name = typeof text === 'string' ? nameOf(text, values) : null;
    if (name === null) return query.apply(this, args);
    const config: pg.QueryConfig = { name, text: text as string, values: values as unknown[] };
    return typeof callback === 'function'
      ? query.call(this, config, callback as QueryCallback)
      : query.call(this, config);
  } as pg.Client['query'];
  return PreparingClient;
}
