/**
 * The rows of the conflict view (a save answered 412): for every field where the two versions
 * differ, what I changed beside what the other admin saved.
 */

export interface ConflictRow {
  label: string;
  mine: string;
  theirs: string;
}

const NOT_CHANGED = 'Not changed by you';

/**
 * A field's row, or `null` where the versions agree: my value beside theirs where I changed it, and
 * "Not changed by you" where only they changed it (`theyChanged`: theirs differs from what the page
 * had when the change began), which re-applying keeps as theirs.
 */
export function conflictRow(
  label: string,
  mine: string | undefined,
  theirs: string,
  theyChanged: boolean,
): ConflictRow | null {
  if (mine !== undefined ? mine === theirs : !theyChanged) return null;
  return { label, mine: mine ?? NOT_CHANGED, theirs };
}
