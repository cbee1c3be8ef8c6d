/**
 * The activity log's hash chain (SPEC §4), in one place for every reader that must agree on it: the
 * API (`append`, `GET /activity/verify`) and the offline verifier of exports (`npm run verify-export`).
 * Server-side only (node:crypto): exported as `@rolecall/contracts/activity-chain`, never from the
 * package's index, so the dashboard's bundle does not pull it in.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The fields of an entry that its hash covers: everything but `id`, `prevHash` and `hash`. */
export interface ChainedEntry {
  accountId: string;
  seq: number;
  at: string;
  actorMemberId: string | null;
  actorEmail: string | null;
  /** Who acted when it was not a member (issue 16): `scim` or `service_account`; null for members and the system. */
  actorKind?: string | null;
  /** The display name of a non-member actor ("SCIM (Okta)", a service account's name). */
  actorName?: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  targetLabel: string | null;
  changes: Record<string, unknown> | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * The hashed content of an entry. `actorKind`/`actorName` are included only when the entry has an
 * actor kind, so every entry written before they existed hashes exactly as it did.
 */
export function hashedContent(entry: ChainedEntry): Record<string, unknown> {
  return {
    accountId: entry.accountId,
    seq: entry.seq,
    at: entry.at,
    actorMemberId: entry.actorMemberId,
    actorEmail: entry.actorEmail,
    ...(entry.actorKind ? { actorKind: entry.actorKind, actorName: entry.actorName ?? null } : {}),
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    targetLabel: entry.targetLabel,
    changes: entry.changes,
    ip: entry.ip,
    userAgent: entry.userAgent,
  };
}

/** `hash = sha256(prevHash + canonical JSON of the hashed content)` (RFC 8785 canonical JSON), hex. */
export function chainHash(prevHash: string, content: Record<string, unknown>): string {
  return createHash('sha256')
    .update(prevHash + canonicalize(content))
    .digest('hex');
}

/** The hash an entry must carry, given the hash of the entry before it ('' for the first). */
export function activityHash(prevHash: string, entry: ChainedEntry): string {
  return chainHash(prevHash, hashedContent(entry));
}
