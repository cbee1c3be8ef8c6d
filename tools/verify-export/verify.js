// Offline verification of an activity export (`GET /api/v1/activity/export?format=ndjson`), with the
// API's own hash function (`@rolecall/contracts/activity-chain`), so the two can never disagree.
import { activityHash } from '@rolecall/contracts/activity-chain';
import { createInterface } from 'node:readline';

/**
 * @typedef {{ ok: true, count: number, firstSeq: number | null, lastSeq: number | null, gaps: number, missing: number, fromStart: boolean }
 *   | { ok: false, count: number, badSeq: number | null, line: number, reason: string }} VerifyResult
 */

/**
 * Reads ndjson lines one at a time (constant memory) and checks each entry's own hash against its
 * content and its `prevHash`, and, where two entries are consecutive (seq n, n+1), that the second's
 * `prevHash` is the first's `hash`. Seq must rise; an export that starts at seq 1 must start the
 * chain (`prevHash` ''). Missing seqs (a filtered export) are counted as gaps, not failures: each
 * entry still proves its own content, and the links around a gap cannot be checked.
 *
 * With `complete` (a whole, unfiltered export), any gap is a failure: a removed line.
 *
 * @param {NodeJS.ReadableStream} input
 * @param {{ complete?: boolean }} [options]
 * @returns {Promise<VerifyResult>}
 */
export async function verifyExport(input, options = {}) {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let count = 0;
  let lineNo = 0;
  let previous = null;
  let firstSeq = null;
  let accountId = null;
  let gaps = 0;
  let missing = 0;
  const bad = (seq, reason) => ({ ok: false, count, badSeq: seq, line: lineNo, reason });
  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') continue;
    let entry;
    try {
      entry = JSON.parse(text);
    } catch {
      return bad(previous ? previous.seq + 1 : null, `line ${lineNo} is not JSON`);
    }
    const seq = entry?.seq;
    if (!Number.isInteger(seq) || seq < 1 || typeof entry.hash !== 'string' || typeof entry.prevHash !== 'string') {
      return bad(
        Number.isInteger(seq) ? seq : null,
        `line ${lineNo} is not an activity entry (seq, hash and prevHash are required)`,
      );
    }
    accountId ??= entry.accountId;
    if (entry.accountId !== accountId) return bad(seq, 'the entry belongs to another account');
    if (activityHash(entry.prevHash, entry) !== entry.hash)
      return bad(seq, 'its hash does not match its content and prevHash (the entry was altered)');
    if (previous === null) {
      firstSeq = seq;
      if (seq === 1 && entry.prevHash !== '') return bad(seq, 'the first entry of a chain must have an empty prevHash');
      if (seq > 1) {
        if (options.complete) return bad(seq, `the export starts at seq ${seq}, not 1 (entries before it are missing)`);
        gaps++;
        missing += seq - 1;
      }
    } else if (seq <= previous.seq) {
      return bad(seq, `seq ${seq} comes after seq ${previous.seq} (out of order or repeated)`);
    } else if (seq === previous.seq + 1) {
      if (entry.prevHash !== previous.hash)
        return bad(
          seq,
          `its prevHash is not the hash of seq ${previous.seq} (an entry was altered, removed or inserted)`,
        );
    } else {
      if (options.complete) return bad(seq, `seq ${previous.seq + 1}–${seq - 1} are missing (a line was removed)`);
      gaps++;
      missing += seq - previous.seq - 1;
    }
    previous = { seq, hash: entry.hash };
    count++;
  }
  if (count === 0) return { ok: false, count, badSeq: null, line: lineNo, reason: 'the file holds no entries' };
  return { ok: true, count, firstSeq, lastSeq: previous.seq, gaps, missing, fromStart: firstSeq === 1 };
}

/** @param {VerifyResult} result */
export function describe(result) {
  if (!result.ok)
    return `BAD${result.badSeq === null ? '' : ` at seq ${result.badSeq}`}: ${result.reason} (line ${result.line}; ${result.count} entries verified before it)`;
  const range = `seq ${result.firstSeq}–${result.lastSeq}`;
  if (result.gaps === 0) return `OK: ${result.count} entries, ${range}, the chain is complete from its first entry`;
  return (
    `OK: ${result.count} entries (${range}), each matches its own hash; the chain has ${result.gaps} gap${result.gaps === 1 ? '' : 's'} ` +
    `(${result.missing} entries left out${result.fromStart ? '' : ', including the ones before the first'}: a filtered export), ` +
    'so links were checked only between consecutive entries'
  );
}
