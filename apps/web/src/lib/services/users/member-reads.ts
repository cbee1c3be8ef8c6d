/**
 * Reads of members and what their pages show beside them (SPEC §5 `/users`, `/account`, `/roles`,
 * `/teams`, a member's sessions and activity, the invitation preview).
 */
import {
  type AccountDto,
  type ActivityEntryDto,
  type InvitationPreviewDto,
  type InviteRequest,
  type ListDto,
  type MemberDetailDto,
  type MemberPageDto,
  type MemberSessionDto,
  type PageDto,
  type RoleListDto,
  type TeamDto,
} from '@rolecall/contracts';
import { api } from '$lib/api';
import { filterQuery, PAGE_SIZE, type MemberFilters } from './member-filters';

export function listMembers(
  filters: MemberFilters,
  options: { cursor?: string | null; limit?: number; signal?: AbortSignal } = {},
): Promise<MemberPageDto> {
  return api.get<MemberPageDto>('/users', {
    query: { ...filterQuery(filters), cursor: options.cursor ?? undefined, limit: options.limit ?? PAGE_SIZE },
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * A resource answer carries `ETag: "<version>"`, but parts of it change without a new version
 * (seats in use, last active, 2FA), and Express answers a matching `If-None-Match` with 304: the
 * browser would then show its stale copy. Single resources are therefore read past the HTTP cache.
 */
const noStore: typeof fetch = (input, init) => fetch(input, { ...init, cache: 'no-store' });

export const fetchMember = (id: string) =>
  api.get<MemberDetailDto>(`/users/${encodeURIComponent(id)}`, { fetch: noStore });

export const fetchAccount = () => api.get<AccountDto>('/account', { fetch: noStore });

export const fetchRoles = () => api.get<RoleListDto>('/roles');

export const fetchTeams = () => api.get<ListDto<TeamDto>>('/teams');

export const fetchMemberSessions = (id: string) =>
  api.get<ListDto<MemberSessionDto>>(`/users/${encodeURIComponent(id)}/sessions`);

export const fetchMemberActivity = (id: string, cursor?: string | null) =>
  api.get<PageDto<ActivityEntryDto>>('/activity', { query: { member: id, cursor: cursor ?? undefined, limit: 20 } });

export function previewInvitations(input: InviteRequest, signal?: AbortSignal): Promise<InvitationPreviewDto> {
  return api.post<InvitationPreviewDto>('/users/invitations', input, {
    query: { dryRun: 'true' },
    ...(signal ? { signal } : {}),
  });
}

// ── Words ──────────────────────────────────────────────────────────────────────────────────
