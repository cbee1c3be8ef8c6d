/**
 * Bulk actions on the Users page (issue 17 §2): the request for a selection (ids, or "all N matching
 * this filter" as the list's filters), its dry run, and the words for what happened — the confirm's
 * button, the result, and the one toast a bulk made elsewhere gets (however many members it changed).
 */
import type {
  BulkAction,
  BulkEventData,
  BulkFilter,
  BulkMembersRequest,
  BulkPreviewDto,
  BulkResultDto,
  BulkSkipReason,
} from '@rolecall/contracts';
import { api } from '$lib/api';
import type { MemberFilters } from './users.service';

/** What is selected: some rows by id, or every member matching the filters the list shows. */
export type BulkSelection = { kind: 'ids'; ids: string[] } | { kind: 'filter'; filters: MemberFilters; total: number };

/** The action and its parameter, as the action bar asks for them. */
export type BulkChoice =
  | { action: 'role'; roleId: string; roleName: string }
  | { action: 'agentAccess'; agentAccess: boolean }
  | { action: 'addTeam' | 'removeTeam'; teamId: string; teamName: string }
  | { action: 'revoke' | 'resend' | 'cancel' };

/** The list's filters as the bulk request's `filter` (the same filters `GET /users` takes). */
function bulkFilterOf(filters: MemberFilters): BulkFilter {
  return {
    ...(filters.roles.length ? { role: [...filters.roles] } : {}),
    ...(filters.status ? { status: filters.status } : {}),
    ...(filters.team ? { team: filters.team } : {}),
    ...(filters.agent ? { agent: filters.agent === 'true' } : {}),
    ...(filters.twoFactor ? { twoFactor: filters.twoFactor === 'true' } : {}),
    ...(filters.q.trim() ? { q: filters.q.trim() } : {}),
    ...(filters.enforcedAuth ? { enforcedAuth: filters.enforcedAuth } : {}),
  };
}

export function bulkRequest(selection: BulkSelection, choice: BulkChoice): BulkMembersRequest {
  const target = selection.kind === 'ids' ? { ids: selection.ids } : { filter: bulkFilterOf(selection.filters) };
  switch (choice.action) {
    case 'role':
      return { action: 'role', roleId: choice.roleId, ...target };
    case 'agentAccess':
      return { action: 'agentAccess', agentAccess: choice.agentAccess, ...target };
    case 'addTeam':
    case 'removeTeam':
      return { action: choice.action, teamId: choice.teamId, ...target };
    default:
      return { action: choice.action, ...target };
  }
}

export const previewBulk = (request: BulkMembersRequest) =>
  api.post<BulkPreviewDto>('/users/bulk', request, { query: { dryRun: 'true' } });
export const runBulk = (request: BulkMembersRequest) => api.post<BulkResultDto>('/users/bulk', request);

/** "3 members", "1 member", "5,000 members". */
export function membersCount(count: number): string {
  return `${count.toLocaleString('en')} ${count === 1 ? 'member' : 'members'}`;
}

/** What the action does, after a verb-less subject: "change 3 members' role to Editor". */
export function describeChoice(choice: BulkChoice, count: number): string {
  const who = membersCount(count);
  const possessive = `${who}’`;
  switch (choice.action) {
    case 'role':
      return `change ${possessive} role to ${choice.roleName}`;
    case 'agentAccess':
      return `turn ${choice.agentAccess ? 'on' : 'off'} Talk access for ${who}`;
    case 'addTeam':
      return `add ${who} to ${choice.teamName}`;
    case 'removeTeam':
      return `remove ${who} from ${choice.teamName}`;
    case 'revoke':
      return `revoke ${who}`;
    case 'resend':
      return `resend the invitations of ${who}`;
    case 'cancel':
      return `cancel the invitations of ${who}`;
  }
}

export const ACTION_LABELS: Record<BulkAction, string> = {
  role: 'Change role',
  agentAccess: 'Talk access',
  addTeam: 'Add to team',
  removeTeam: 'Remove from team',
  revoke: 'Revoke',
  resend: 'Resend invitations',
  cancel: 'Cancel invitations',
};

export const SKIP_LABELS: Record<BulkSkipReason, string> = {
  not_found: 'No longer in this account',
  self: 'You',
  owner_protected: 'Account owner',
  billing_contact_protected: 'Billing contact',
  already: 'Already so',
  wrong_status: 'Not applicable to their status',
};

/** The one toast of a bulk action made by someone else: "Olive Owner changed 5,000 members' role to Editor." */
export function bulkToast(event: BulkEventData): string {
  const who = event.actor.name ?? 'Someone';
  const members = membersCount(event.total);
  switch (event.action) {
    case 'role':
      return `${who} changed ${members}’ role to ${event.role?.name ?? 'another role'}.`;
    case 'agentAccess':
      return `${who} turned ${event.agentAccess ? 'on' : 'off'} Talk access for ${members}.`;
    case 'addTeam':
      return `${who} added ${members} to ${event.team?.name ?? 'a team'}.`;
    case 'removeTeam':
      return `${who} removed ${members} from ${event.team?.name ?? 'a team'}.`;
    case 'revoke':
      return `${who} revoked ${members}.`;
    case 'resend':
      return `${who} resent the invitations of ${members}.`;
    case 'cancel':
      return `${who} cancelled the invitations of ${members}.`;
  }
}
