// `npm run restore -- <file>`: puts a backup made by `npm run backup` back as $DATA_DIR's database.
// Refuses while any process (the API) has that database open; the database it replaces is kept
// beside it as rolecall.sqlite.before-restore-<time>.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { dataFiles, fail, inspect, inUse, refusePostgres } from './sqlite-files.js';

refusePostgres();
const source = process.argv[2];
if (!source) fail('Usage: npm run restore -- <file>   (into $DATA_DIR/rolecall.sqlite, DATA_DIR defaults to ./data; stop the API first)');
const backup = resolve(source);
if (!existsSync(backup)) fail(`No backup at ${backup}`);
const { dataDir, database, secretsKey } = dataFiles();

let counts;
try {
  counts = inspect(backup);
} catch (error) {
  fail(`Not restored: ${error instanceof Error ? error.message : String(error)}`);
}
if (inUse(database)) fail(`Not restored: ${database} is open in another process — stop the API on DATA_DIR=${dataDir} first`);

const backupKey = `${backup}.secrets.key`;
if (existsSync(backupKey) && existsSync(secretsKey) && readFileSync(backupKey, 'utf8').trim() !== readFileSync(secretsKey, 'utf8').trim()) {
  fail(`Not restored: ${secretsKey} differs from the backup's ${backupKey}; move one of them away first (Okta client secrets need the key they were encrypted with)`);
}

mkdirSync(dataDir, { recursive: true });
const incoming = `${database}.restoring`;
copyFileSync(backup, incoming);
chmodSync(incoming, 0o600);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
let kept = '';
if (existsSync(database)) {
  kept = `${database}.before-restore-${stamp}`;
  renameSync(database, kept);
}
// A write-ahead log of the old database must never be applied to the restored one.
for (const suffix of ['-wal', '-shm']) {
  if (existsSync(`${database}${suffix}`)) {
    if (kept) renameSync(`${database}${suffix}`, `${kept}${suffix}`);
    else rmSync(`${database}${suffix}`);
  }
}
renameSync(incoming, database);
if (existsSync(backupKey) && !existsSync(secretsKey)) {
  copyFileSync(backupKey, secretsKey);
  chmodSync(secretsKey, 0o600);
}
console.log(
  `Restored ${backup} to ${database} (${counts.accounts} accounts, ${counts.members} members, ${counts.activity} activity entries)${kept ? `; the previous database is kept as ${kept}` : ''}. Start the API on DATA_DIR=${dataDir}.`,
);
