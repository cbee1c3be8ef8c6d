/**
 * Who saved the version that won a 412, for the conflict view to name them (issue 15): the actor
 * of the newest activity entry about the resource. That entry is written in the same transaction
 * as the change, so it is there by the time the 412 answers, and it names who made the change —
 * not merely who is looking at the page (presence). Their name is the one the entry kept.
 */
import type { ActivityEntryDto, MemberDto, PageDto } from '@rolecall/contracts';
import { api } from '$lib/api';
import { session } from '$lib/session.svelte';

/** What the conflict is about. */
export type ConflictResource = { type: 'member'; id: string } | { type: 'role'; id: string } | { type: 'account' };

/** Every action that changes the account's version. */
const ACCOUNT_ACTIONS = [
  'account.updated',
  'account.plan_changed',
  'account.validated',
  'ownership.transferred',
  'billing.transferred',
];

/** How far back a role's change is looked for among the newest role edits of the account. */
const ROLE_EDITS_SCANNED = 50;

export interface ChangeAuthor {
  memberId: string | null;
  /** Their name (as the entry kept it, else as the member is now), else the email the entry keeps. */
  label: string;
}

async function newestEntry(resource: ConflictResource): Promise<ActivityEntryDto | null> {
  switch (resource.type) {
    case 'member': {
      const page = await api.get<PageDto<ActivityEntryDto>>('/activity', { query: { member: resource.id, limit: 1 } });
      return page.items[0] ?? null;
    }
    case 'role': {
      const page = await api.get<PageDto<ActivityEntryDto>>('/activity', {
        query: { action: ['role.updated'], limit: ROLE_EDITS_SCANNED },
      });
      return page.items.find((entry) => entry.target.id === resource.id) ?? null;
    }
    case 'account': {
      const page = await api.get<PageDto<ActivityEntryDto>>('/activity', {
        query: { action: ACCOUNT_ACTIONS, limit: 1 },
      });
      return page.items[0] ?? null;
    }
  }
}

/**
 * The author of the resource's current version, or null when it cannot be told (the viewer may not
 * read the activity, or the entry is out of reach). Never throws.
 */
export async function changeAuthor(resource: ConflictResource): Promise<ChangeAuthor | null> {
  if (!session.can('activity.view')) return null;
  try {
    const entry = await newestEntry(resource);
    if (!entry) return null;
    const { memberId, email } = entry.actor;
    // The name the entry kept when written (issue 15's activity names); older entries have none.
    const written = memberId ? entry.names?.[memberId] : undefined;
    const member =
      !written && memberId && session.can('users.view')
        ? await api.get<MemberDto>(`/users/${encodeURIComponent(memberId)}`).catch(() => null)
        : null;
    const label = written || member?.name?.trim() || member?.email || email;
    return label ? { memberId, label } : null;
  } catch {
    return null;
  }
}
