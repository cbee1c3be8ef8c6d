// `npm run verify-export -- file.ndjson [--complete]` (or `-` / no file for stdin): checks an activity
// export's hash chain offline. Prints `OK: …` and exits 0, or `BAD at seq N: …` and exits 1 (2 for a
// usage error). A filtered export has gaps: each entry is checked against its own hash and the gaps
// are reported. `--complete` says the file is a whole, unfiltered export: any gap (a line removed) is
// then a failure. Needs the built contracts (`npm run build`, or `npx nx run contracts:build`).
import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';

// `npm run` starts in the repository's root: a relative path is relative to where it was typed.
const args = process.argv.slice(2);
const complete = args.includes('--complete');
const named = args.find((arg) => arg !== '--complete');
const file = named && !named.startsWith('-') ? resolve(process.env.INIT_CWD ?? process.cwd(), named) : named;
if (file === '--help' || file === '-h') {
  console.log(
    'Usage: npm run verify-export -- <export.ndjson> [--complete]   (from GET /api/v1/activity/export?format=ndjson)',
  );
  process.exit(0);
}
if (file && file !== '-' && !existsSync(file)) {
  console.error(`No such file: ${file}`);
  process.exit(2);
}
let verify;
try {
  verify = await import('./verify.js');
} catch (error) {
  console.error(
    `Cannot load the hash function (@rolecall/contracts/activity-chain): run \`npm run build\` first.\n${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(2);
}
const input = !file || file === '-' ? process.stdin : createReadStream(file);
const result = await verify.verifyExport(input, { complete });
const line = verify.describe(result);
if (result.ok) console.log(line);
else console.error(line);
process.exit(result.ok ? 0 : 1);
