/**
 * One field of an update: when `next` is given and differs from the row's value, sets it on the row
 * and records `{ before, after }` under the field's name for the activity entry. Says whether it
 * changed (for what follows from that change).
 */
export function changeField<Row, Key extends keyof Row & string>(
  changes: Record<string, unknown>,
  row: Row,
  key: Key,
  next: Row[Key] | undefined,
): boolean {
  if (next === undefined || next === row[key]) return false;
  changes[key] = { before: row[key], after: next };
  row[key] = next;
  return true;
}
