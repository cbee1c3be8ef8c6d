// `npm run backup -- <file>`: a consistent copy of the SQLite database while the API runs
// (better-sqlite3's online backup API), plus `<file>.secrets.key` when $DATA_DIR has a key file.
import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { dataFiles, fail, inspect, refusePostgres } from './sqlite-files.js';

refusePostgres();
const target = process.argv[2];
if (!target) fail('Usage: npm run backup -- <file>   (copies $DATA_DIR/rolecall.sqlite, DATA_DIR defaults to ./data)');
const destination = resolve(target);
const { database, secretsKey } = dataFiles();
if (!existsSync(database)) fail(`No database at ${database}: set DATA_DIR to the API's data folder`);
if (existsSync(destination)) fail(`${destination} exists already: choose a new file name (a backup never overwrites one)`);
if (!existsSync(dirname(destination))) fail(`The folder ${dirname(destination)} does not exist`);

const started = Date.now();
const partial = `${destination}.partial`;
rmSync(partial, { force: true });
const source = new Database(database, { readonly: true, fileMustExist: true, timeout: 5000 });
let restarts = 0;
let last = Infinity;
try {
  // After SQLite's first step, everything else in one step: the copy reads one snapshot, and a write
  // by the API between two steps (which restarts an online backup) has only one gap to land in.
  await source.backup(partial, {
    progress({ remainingPages }) {
      if (remainingPages > last) restarts++;
      last = remainingPages;
      return 0x7fffffff;
    },
  });
} catch (error) {
  rmSync(partial, { force: true });
  fail(`The backup failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  source.close();
}

let counts;
try {
  counts = inspect(partial);
} catch (error) {
  rmSync(partial, { force: true });
  fail(`The copy is not usable, nothing was kept: ${error instanceof Error ? error.message : String(error)}`);
}
renameSync(partial, destination);
chmodSync(destination, 0o600);
let keyNote = '';
if (existsSync(secretsKey)) {
  copyFileSync(secretsKey, `${destination}.secrets.key`);
  chmodSync(`${destination}.secrets.key`, 0o600);
  keyNote = `; the secrets key (encrypts Okta client secrets) is in ${destination}.secrets.key — keep it with the backup`;
}
const size = (statSync(destination).size / 1024 / 1024).toFixed(1);
console.log(
  `Backed up ${database} to ${destination} (${size} MB, ${counts.accounts} accounts, ${counts.members} members, ${counts.activity} activity entries) in ${Date.now() - started} ms${restarts ? `, restarted ${restarts}× by writes` : ''}${keyNote}`,
);
