import { Database } from '../../../apps/api/src/database/database.service.js';
import type { TestApp } from './app.js';

/** Runs SQL with `?` placeholders on either database (rewritten to `$n` for PostgreSQL). */
export async function query<T>(app: TestApp, sql: string, params: unknown[] = []): Promise<T[]> {
  let n = 0;
  const text = app.database === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
  return (await app.app.get(Database).read((manager) => manager.query(text, params))) as T[];
}

/** The actions of an account's activity log, oldest first. */
export async function activityActions(app: TestApp, accountId: string): Promise<string[]> {
  const rows = await query<{ action: string }>(app, 'SELECT action FROM activity WHERE account_id = ? ORDER BY seq', [accountId]);
  return rows.map((row) => row.action);
}
