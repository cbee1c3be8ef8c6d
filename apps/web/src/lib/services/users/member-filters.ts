/**
 * The Users list's filters and order: as the API takes them, as the page address keeps them, and
 * applied locally to a live row (`matchesFilters`, `memberComparator`).
 */
import {
  ENFORCED_AUTH_STATES,
  MEMBER_STATUSES,
  type EnforcedAuthState,
  type MemberDto,
  type MemberStatus,
} from '@rolecall/contracts';
import { memberLabel } from './member-words';

export type SortKey =
  'name' | '-name' | 'email' | '-email' | 'createdAt' | '-createdAt' | 'lastActiveAt' | '-lastActiveAt';

export const SORT_OPTIONS: { value: SortKey; label: string }[] = [
  { value: 'name', label: 'Name, A to Z' },
  { value: '-name', label: 'Name, Z to A' },
  { value: 'email', label: 'Email, A to Z' },
  { value: '-email', label: 'Email, Z to A' },
  { value: '-createdAt', label: 'Newest first' },
  { value: 'createdAt', label: 'Oldest first' },
  { value: '-lastActiveAt', label: 'Recently active first' },
  { value: 'lastActiveAt', label: 'Least recently active first' },
];

export interface MemberFilters {
  roles: string[];
  status: MemberStatus | '';
  team: string;
  agent: '' | 'true' | 'false';
  /** `false`: members who have not turned on 2FA (not compliant); invited members match neither. */
  twoFactor: '' | 'true' | 'false';
  /** Only while a provider is enforced: members who have (`linked`) or have not (`pending`) signed in with it. */
  enforcedAuth: '' | EnforcedAuthState;
  q: string;
  sort: SortKey;
}

export const EMPTY_FILTERS: MemberFilters = {
  roles: [],
  status: '',
  team: '',
  agent: '',
  twoFactor: '',
  enforcedAuth: '',
  q: '',
  sort: 'name',
};

export const PAGE_SIZE = 50;

/** Whether anything narrows the list (the sort does not). */
export function isFiltered(filters: MemberFilters): boolean {
  return (
    filters.roles.length > 0 ||
    filters.status !== '' ||
    filters.team !== '' ||
    filters.agent !== '' ||
    filters.twoFactor !== '' ||
    filters.enforcedAuth !== '' ||
    filters.q.trim() !== ''
  );
}

export function filterQuery(filters: MemberFilters): Record<string, string | readonly string[] | undefined> {
  const q = filters.q.trim();
  return {
    role: filters.roles.length ? filters.roles : undefined,
    status: filters.status || undefined,
    team: filters.team || undefined,
    agent: filters.agent || undefined,
    twoFactor: filters.twoFactor || undefined,
    enforcedAuth: filters.enforcedAuth || undefined,
    q: q ? q.slice(0, 100) : undefined,
    sort: filters.sort,
  };
}

/** The filters as the page address keeps them: the API's parameters, without the default sort. */
export function filtersToSearch(filters: MemberFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filterQuery(filters))) {
    if (value === undefined || (key === 'sort' && value === EMPTY_FILTERS.sort)) continue;
    for (const item of typeof value === 'string' ? [value] : value) params.append(key, item);
  }
  return params;
}

/** The filters of a page address; anything unknown falls back to "any". */
export function filtersFromSearch(params: URLSearchParams): MemberFilters {
  const oneOf = <T extends string>(key: string, values: readonly T[]): T | '' => {
    const value = params.get(key);
    return values.includes(value as T) ? (value as T) : '';
  };
  const booleans = ['true', 'false'] as const;
  return {
    roles: params.getAll('role'),
    status: oneOf('status', MEMBER_STATUSES),
    team: params.get('team') ?? '',
    agent: oneOf('agent', booleans),
    twoFactor: oneOf('twoFactor', booleans),
    enforcedAuth: oneOf('enforcedAuth', ENFORCED_AUTH_STATES),
    q: params.get('q') ?? '',
    sort:
      oneOf(
        'sort',
        SORT_OPTIONS.map((o) => o.value),
      ) || EMPTY_FILTERS.sort,
  };
}

/** Whether a member belongs in a list with these filters (the API's rules, applied locally). */
export function matchesFilters(member: MemberDto, filters: MemberFilters): boolean {
  if (filters.roles.length && !filters.roles.includes(member.role.id)) return false;
  if (filters.status && member.status !== filters.status) return false;
  if (filters.team && !member.teams.some((team) => team.id === filters.team)) return false;
  if (filters.agent && String(member.agentAccess) !== filters.agent) return false;
  if (filters.twoFactor && String(member.twoFactorEnabled) !== filters.twoFactor) return false;
  if (filters.enforcedAuth && member.enforcedAuth !== filters.enforcedAuth) return false;
  const q = filters.q.trim().toLowerCase();
  if (q && !memberLabel(member).toLowerCase().startsWith(q) && !member.email.startsWith(q)) return false;
  return true;
}

function sortValue(member: MemberDto, key: string): string {
  switch (key) {
    case 'email':
      return member.email;
    case 'createdAt':
      return member.invitedAt ?? member.joinedAt ?? '';
    case 'lastActiveAt':
      return member.lastActiveAt ?? '';
    default:
      return (member.name ?? member.email).toLowerCase();
  }
}

/** The API's keyset order (sort value, then id) for a sort parameter. */
export function memberComparator(sort: SortKey): (a: MemberDto, b: MemberDto) => number {
  const descending = sort.startsWith('-');
  const key = sort.replace(/^-/, '');
  return (a, b) => {
    const [x, y] = [sortValue(a, key), sortValue(b, key)];
    const order = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return descending ? -order : order;
  };
}

// ── Changes made from this tab ─────────────────────────────────────────────────────────────
