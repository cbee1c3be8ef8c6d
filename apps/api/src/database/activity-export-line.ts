import type { ActivityExportLine } from '@rolecall/contracts';
import type { ActivityEntity } from './entities/activity.entity.js';

/**
 * An entry as exported and as delivered to webhooks: every field its hash covers, as stored
 * (`changes` still holds its `names`), then `prevHash` and `hash` — enough to verify the chain
 * offline with the API's own function (`@rolecall/contracts/activity-chain`).
 */
export function exportLine(entry: ActivityEntity): ActivityExportLine {
  return {
    accountId: entry.accountId,
    seq: entry.seq,
    at: entry.at,
    actorMemberId: entry.actorMemberId,
    actorEmail: entry.actorEmail,
    actorKind: entry.actorKind ?? null,
    actorName: entry.actorName ?? null,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    targetLabel: entry.targetLabel,
    changes: entry.changes,
    ip: entry.ip,
    userAgent: entry.userAgent,
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}
