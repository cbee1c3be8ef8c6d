/**
 * Members of the current account (SPEC §5 `/users`, invitations, transfers): reads, and mutation
 * helpers that call the API, confirm with a toast and hand the outcome back for the page to show
 * errors in place. Every change sends `If-Match` with the version the caller last saw; a 412 carries
 * the resource as it is now (`conflictOf`), so the page can show it and offer to re-apply.
 */
import {
  emailSchema,
  ENFORCED_AUTH_STATES,
  MEMBER_STATUSES,
  type AccountDto,
  type ActivityEntryDto,
  type EnforcedAuthState,
  type InvitationPreviewDto,
  type InviteRequest,
  type ListDto,
  type MemberDetailDto,
  type MemberDto,
  type MemberPageDto,
  type MemberSessionDto,
  type MemberStatus,
  type PageDto,
  type RoleListDto,
  type TeamDto,
  type UpdateMemberRequest,
} from '@rolecall/contracts';
import { agentCost, checkSeats, planLimits, seatUsageAfter, type SeatCount } from '@rolecall/domain';
import { api, isApiError } from '$lib/api';
import { toasts } from '$lib/toast.svelte';
import { attempt, type Outcome } from './outcome';

// ── Reads ──────────────────────────────────────────────────────────────────────────────────

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

function filterQuery(filters: MemberFilters): Record<string, string | readonly string[] | undefined> {
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

/** What people call a member: their name, or their email while they have none (invited). */
export function memberLabel(member: Pick<MemberDto, 'name' | 'email'>): string {
  return member.name?.trim() || member.email;
}

export const STATUS_LABELS: Record<MemberStatus, string> = { active: 'Active', invited: 'Invited', revoked: 'Revoked' };

/**
 * Another admin's change to a member in a few words ("Ann’s role changed to Editor."), or `null`
 * when nothing worth announcing changed (e.g. only the last-active time).
 */
export function describeMemberChange(before: MemberDto | undefined, after: MemberDto): string | null {
  const who = memberLabel(after);
  if (!before) {
    const recent = after.invitedAt && Date.now() - new Date(after.invitedAt).getTime() < 60_000;
    return after.status === 'invited' && recent ? `${after.email} was invited.` : null;
  }
  if (before.status !== after.status) {
    if (after.status === 'active' && before.status === 'invited') return `${who} joined.`;
    if (after.status === 'active') return `${who} was reactivated.`;
    if (after.status === 'revoked') return `${who} was revoked.`;
  }
  if (before.role.id !== after.role.id) return `${who}’s role changed to ${after.role.name}.`;
  if (before.agentAccess !== after.agentAccess) {
    return after.agentAccess ? `${who} now has Talk access.` : `${who} no longer has Talk access.`;
  }
  if (!before.isOwner && after.isOwner) return `${who} is now the account owner.`;
  if (!before.isBillingContact && after.isBillingContact) return `${who} is now the billing contact.`;
  const teams = (m: MemberDto) =>
    m.teams
      .map((t) => t.id)
      .sort()
      .join();
  if (teams(before) !== teams(after)) return `${who}’s teams changed.`;
  if (before.invitedAt !== after.invitedAt && after.status === 'invited')
    return `The invitation to ${after.email} was resent.`;
  return null;
}

export function formatMoney(amount: number): string {
  return new Intl.NumberFormat(undefined, {
    style: 'currency',
    currency: 'USD',
    maximumFractionDigits: amount % 1 ? 2 : 0,
  }).format(amount);
}

/** "3 of 10", "3 of unlimited". */
export function ofLimit(used: number, limit: number | null): string {
  return `${used} of ${limit === null ? 'unlimited' : limit}`;
}

/** The 412 answer's resource as it is now, if `error` is a version mismatch. */
export function conflictOf<T>(error: unknown): T | null {
  if (!isApiError(error, 'VERSION_MISMATCH')) return null;
  const current = error.details['current'];
  return typeof current === 'object' && current !== null ? (current as T) : null;
}

interface SeatDetails {
  limit?: unknown;
  used?: unknown;
  requested?: unknown;
}

/** A seat error with its numbers, e.g. "Your plan has 3 seats and 3 are in use; inviting 2 people needs 2 more." */
export function seatErrorMessage(error: unknown, plan?: string): string | null {
  if (!isApiError(error, 'SEAT_LIMIT_REACHED', 'AGENT_SEAT_LIMIT_REACHED')) return null;
  const { limit, used, requested } = error.details as SeatDetails;
  return seatLimitMessage({
    agent: error.code === 'AGENT_SEAT_LIMIT_REACHED',
    limit: typeof limit === 'number' ? limit : undefined,
    used: typeof used === 'number' ? used : undefined,
    requested: typeof requested === 'number' ? requested : undefined,
    plan,
  });
}

/** The words of a seat refusal, from the API's error or from the page's own count (`agentSeatChange`). */
export function seatLimitMessage(facts: {
  agent: boolean;
  limit?: number | undefined;
  used?: number | undefined;
  requested?: number | undefined;
  plan?: string | undefined;
}): string {
  const { agent, limit, used, requested, plan } = facts;
  const what = agent ? 'agent seat' : 'seat';
  const planName = plan ? `The ${plan} plan` : 'Your plan';
  const summary =
    limit !== undefined && used !== undefined
      ? `${planName} has ${limit} ${what}${limit === 1 ? '' : 's'} and ${used} ${used === 1 ? 'is' : 'are'} in use` +
        (requested !== undefined && requested > 0 ? `; this needs ${requested} more.` : '.')
      : `Every ${what} on your plan is taken.`;
  const advice = agent
    ? 'Turn off Talk access for someone, or upgrade the plan.'
    : 'Revoke someone or cancel a pending invitation to free a seat, or upgrade the plan.';
  return `${summary} ${advice}`;
}

/** Turning one member's Talk access on or off: agent seats and the monthly Talk cost, before and after. */
export interface AgentSeatChange {
  on: boolean;
  plan: AccountDto['plan'];
  seats: { before: number; after: number; limit: number | null };
  cost: { before: number; after: number };
  /** After minus before: positive when the bill goes up. */
  delta: number;
  /** The plan's price of an agent seat after the first, free one; `null` when the plan sells none. */
  price: number | null;
  /** Why the plan refuses it (the API's own check, asked first), or `null`. */
  refused: string | null;
}

/**
 * The same sums the API makes (libs/domain: `seatUsageAfter`, `checkSeats`, `agentCost`) on the
 * account's current usage, so the confirm shows what the change will cost before it is made.
 */
export function agentSeatChange(account: AccountDto, on: boolean): AgentSeatChange {
  const before: SeatCount = {
    used: account.seats.used,
    invited: account.seats.invited,
    agents: account.agentSeats.used,
  };
  const after = seatUsageAfter(before, { seats: 0, agents: on ? 1 : -1 });
  const check = on ? checkSeats(account.plan, after) : ({ ok: true } as const);
  const cost = {
    before: agentCost(account.plan, before.agents).monthlyCost,
    after: agentCost(account.plan, Math.max(0, after.agents)).monthlyCost,
  };
  return {
    on,
    plan: account.plan,
    seats: { before: before.agents, after: Math.max(0, after.agents), limit: account.agentSeats.limit },
    cost,
    delta: cost.after - cost.before,
    price: planLimits(account.plan).extraAgentSeatPrice,
    refused: check.ok
      ? null
      : seatLimitMessage({
          agent: check.code === 'AGENT_SEAT_LIMIT_REACHED',
          limit: check.limit,
          used: check.code === 'AGENT_SEAT_LIMIT_REACHED' ? before.agents : before.used,
          requested: check.code === 'AGENT_SEAT_LIMIT_REACHED' ? 1 : 0,
          plan: account.plan,
        }),
  };
}

/** Rows with the owner and billing-contact marks of `account` (they live on the account). */
export function withAccountMarks(
  items: MemberDto[],
  account: Pick<AccountDto, 'ownerId' | 'billingContactId'>,
): MemberDto[] {
  return items.map((m) => {
    const isOwner = m.id === account.ownerId;
    const isBillingContact = m.id === account.billingContactId;
    return m.isOwner === isOwner && m.isBillingContact === isBillingContact ? m : { ...m, isOwner, isBillingContact };
  });
}

/** `USER_EXISTS` details: who is already in the account, and which of them are revoked. */
export interface ExistingMember {
  id: string;
  email: string;
  status: MemberStatus;
  revoked: boolean;
}

export function existingMembersOf(error: unknown): ExistingMember[] {
  if (!isApiError(error, 'USER_EXISTS')) return [];
  const members = error.details['members'];
  if (!Array.isArray(members)) return [];
  return members.filter(
    (m): m is ExistingMember => typeof m === 'object' && m !== null && typeof (m as ExistingMember).email === 'string',
  );
}

// ── Emails typed or pasted as a list ───────────────────────────────────────────────────────

export interface EmailChip {
  /** What was typed, as typed. */
  raw: string;
  /** The normalised email when valid. */
  email: string | null;
  error: string | null;
}

/** Splits text on commas, semicolons, spaces and new lines; strips `Name <a@b.c>` wrappers. */
export function splitEmails(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((part) => part.replace(/^<|>$/g, '').trim())
    .filter(Boolean);
}

export function toChip(raw: string): EmailChip {
  const parsed = emailSchema.safeParse(raw);
  if (parsed.success) return { raw, email: parsed.data, error: null };
  return { raw, email: null, error: parsed.error.issues[0]?.message ?? 'Enter a valid email address' };
}

// ── Live list helpers ──────────────────────────────────────────────────────────────────────

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

/**
 * Changes this tab made, so the page does not announce their live echo as someone else's change:
 * members being changed right now (by id or email), the member versions our changes produced, and
 * for answers without a member version (removals, transfers) the members touched a moment ago.
 */
class OwnChanges {
  #inFlight = new Map<string, number>();
  #versions = new Set<string>();
  #recent = new Map<string, number>();

  /** Marks `keys` (member ids, emails) as ours while `work` runs, then remembers what it produced. */
  async around<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    for (const key of keys) this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    let value: T | undefined;
    try {
      value = await work();
      return value;
    } finally {
      for (const key of keys) {
        const count = (this.#inFlight.get(key) ?? 1) - 1;
        if (count > 0) this.#inFlight.set(key, count);
        else this.#inFlight.delete(key);
      }
      const produced = versionsOf(value);
      if (produced.length) produced.forEach(([id, version]) => this.#versions.add(`${id}@${version}`));
      else for (const key of keys) this.#recent.set(key, Date.now() + 3000);
    }
  }

  isMine(member: { id: string; email?: string; version?: number }): boolean {
    const keys = member.email ? [member.id, member.email] : [member.id];
    if (keys.some((key) => this.#inFlight.has(key))) return true;
    if (member.version !== undefined && this.#versions.has(`${member.id}@${member.version}`)) return true;
    const now = Date.now();
    return keys.some((key) => (this.#recent.get(key) ?? 0) > now);
  }
}

/** The members (id, version) in an answer: a member, or `{ items: members }`. */
function versionsOf(value: unknown): [string, number][] {
  const one = (v: unknown): [string, number] | null =>
    typeof v === 'object' &&
    v !== null &&
    'email' in v &&
    typeof (v as MemberDto).id === 'string' &&
    typeof (v as MemberDto).version === 'number'
      ? [(v as MemberDto).id, (v as MemberDto).version]
      : null;
  if (typeof value === 'object' && value !== null && Array.isArray((value as { items?: unknown }).items)) {
    return (value as { items: unknown[] }).items.map(one).filter((pair): pair is [string, number] => pair !== null);
  }
  const single = one(value);
  return single ? [single] : [];
}

export const ownChanges = new OwnChanges();

// ── Mutations ──────────────────────────────────────────────────────────────────────────────

type MemberRef = Pick<MemberDto, 'id' | 'version' | 'name' | 'email'>;

const memberPath = (id: string) => `/users/${encodeURIComponent(id)}`;

export async function inviteMembers(input: InviteRequest): Promise<Outcome<MemberDto[]>> {
  const outcome = await attempt(() =>
    ownChanges.around(
      input.emails,
      async () => (await api.post<ListDto<MemberDto>>('/users/invitations', input)).items,
    ),
  );
  if (outcome.ok) {
    const count = outcome.value.length;
    toasts.show(count === 1 ? `Invitation sent to ${outcome.value[0]?.email}.` : `${count} invitations sent.`);
  }
  return outcome;
}

function memberAction<T>(
  member: MemberRef,
  work: () => Promise<T>,
  done: (value: T) => string | null,
): Promise<Outcome<T>> {
  return attempt(() => ownChanges.around([member.id, member.email], work)).then((outcome) => {
    if (outcome.ok) {
      const message = done(outcome.value);
      if (message) toasts.show(message);
    }
    return outcome;
  });
}

export function updateMember(member: MemberRef, change: UpdateMemberRequest, version = member.version) {
  return memberAction(
    member,
    () => api.patch<MemberDetailDto>(memberPath(member.id), change, { ifMatch: version }),
    (after) => {
      const who = memberLabel(after);
      if (change.roleId !== undefined && Object.keys(change).length === 1) return `${who} is now ${after.role.name}.`;
      if (change.agentAccess !== undefined && Object.keys(change).length === 1)
        return after.agentAccess ? `${who} now has Talk access.` : `${who} no longer has Talk access.`;
      return `Changes to ${who} saved.`;
    },
  );
}

export function revokeMember(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.post<MemberDetailDto>(`${memberPath(member.id)}/revoke`, undefined, { ifMatch: version }),
    (after) => `${memberLabel(after)} no longer has access. Their sessions have ended.`,
  );
}

export function reactivateMember(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.post<MemberDetailDto>(`${memberPath(member.id)}/reactivate`, undefined, { ifMatch: version }),
    (after) => `${memberLabel(after)} is active again.`,
  );
}

export function resendInvitation(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.post<MemberDetailDto>(`${memberPath(member.id)}/resend-invitation`, undefined, { ifMatch: version }),
    (after) => `A new invitation is on its way to ${after.email}. The old link no longer works.`,
  );
}

/** Cancels an invitation (invited) or deletes a revoked member for good. */
export function removeMember(member: MemberRef & Pick<MemberDto, 'status'>, version = member.version) {
  return memberAction(
    member,
    () => api.delete(memberPath(member.id), undefined, { ifMatch: version }),
    () =>
      member.status === 'invited'
        ? `The invitation for ${member.email} is cancelled.`
        : `${memberLabel(member)} is deleted.`,
  );
}

export function endMemberSessions(member: MemberRef, version = member.version) {
  return memberAction(
    member,
    () => api.delete(`${memberPath(member.id)}/sessions`, undefined, { ifMatch: version }),
    () => `${memberLabel(member)} is signed out everywhere in this account.`,
  );
}

export function transferOwnership(member: MemberRef, accountVersion: number) {
  return memberAction(
    member,
    () => api.post<AccountDto>('/account/transfer-ownership', { memberId: member.id }, { ifMatch: accountVersion }),
    () => `${memberLabel(member)} is now the account owner.`,
  );
}

export function transferBilling(member: MemberRef, accountVersion: number) {
  return memberAction(
    member,
    () => api.post<AccountDto>('/account/transfer-billing', { memberId: member.id }, { ifMatch: accountVersion }),
    () => `${memberLabel(member)} is now the billing contact.`,
  );
}

/**
 * An admin resets a member's 2FA (lost phone and recovery codes). The member's version does not
 * move, so the answer is the member read afresh; if 2FA was already off (409), that is the wanted
 * state, and the fresh member is the answer too.
 */
export async function resetMemberTwoFactor(
  member: MemberDetailDto,
  version = member.version,
): Promise<Outcome<MemberDetailDto>> {
  const fresh = () => fetchMember(member.id).catch(() => null);
  const outcome = await attempt(() =>
    ownChanges.around([member.id, member.email], async () => {
      await api.delete(`${memberPath(member.id)}/2fa`, undefined, { ifMatch: version });
      // Reset it is, even if the member cannot be read back right now.
      return (await fresh()) ?? { ...member, twoFactorEnabled: false };
    }),
  );
  const who = memberLabel(member);
  if (outcome.ok) {
    toasts.show(
      `${who}’s two-factor authentication is reset. They’ll choose a new password through the link we mailed them.`,
    );
    return outcome;
  }
  if (isApiError(outcome.error, 'CONFLICT')) {
    const now = await fresh();
    if (now && now.twoFactorEnabled !== true) {
      toasts.show(`${who} has no two-factor authentication to reset any more.`);
      return { ok: true, value: now };
    }
  }
  return outcome;
}
