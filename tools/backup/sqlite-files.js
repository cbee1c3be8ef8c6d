// Shared by `npm run backup` and `npm run restore` (README, "Backups and restore").
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The files of a Rolecall data folder, as the API resolves them (SPEC §3). */
export function dataFiles(env = process.env) {
  const dataDir = resolve(env.DATA_DIR || './data');
  return { dataDir, database: join(dataDir, 'rolecall.sqlite'), secretsKey: join(dataDir, 'secrets.key') };
}

/** Stops with one line on stderr and exit code 1. */
export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** On PostgreSQL this tool does nothing: pg_dump/pg_restore are the tools (README). */
export function refusePostgres(env = process.env) {
  if (env.DATABASE_URL) {
    fail('DATABASE_URL is set: Rolecall stores its data in PostgreSQL, so back it up with pg_dump -Fc and restore it with pg_restore (README, "Backups and restore"). This tool copies the SQLite database only.');
  }
}

/**
 * Checks that `path` is an intact Rolecall database: SQLite's integrity check passes and the
 * migrations table is there. Returns a few counts to print.
 */
export function inspect(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new Error(`${path} fails SQLite's integrity check: ${integrity}`);
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
    if (!tables.has('migrations') || !tables.has('accounts')) throw new Error(`${path} is not a Rolecall database (no migrations or accounts table)`);
    const count = (table) => (tables.has(table) ? db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() : 0);
    return {
      accounts: count('accounts'),
      members: count('members'),
      activity: count('activity'),
      migrations: db.prepare('SELECT count(*) FROM migrations').pluck().get(),
    };
  } finally {
    db.close();
  }
}

/**
 * True when another process (the API) has the database open. SQLite in WAL mode gives an
 * exclusive lock to no one while any other connection holds the file open, so the attempt answers
 * SQLITE_BUSY at once.
 */
export function inUse(path) {
  if (!existsSync(path)) return false;
  const db = new Database(path, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return false;
  } catch (error) {
    if (error && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED')) return true;
    throw error;
  } finally {
    db.close();
  }
}
