/**
 * The Users page's state besides its filters and selection: the rows (`MemberList`), the account,
 * roles and teams they are shown with, how an account event from the live store patches them (and
 * what other admins' changes are announced), and the row actions (Talk access, the row menu) with
 * the version the table shows — a 412 shows the other admin's change and says so.
 */
import type { AccountDto, AccountEvent, MemberDto } from '@rolecall/contracts';
import { messageFor } from '$lib/errors';
import { soon } from '$lib/soon';
import { bulkToast } from '$lib/services/users-bulk.service';
import {
  conflictOf,
  describeMemberChange,
  fetchMember,
  memberLabel,
  ownChanges,
  seatErrorMessage,
  updateMember,
  withAccountMarks,
} from '$lib/services/users.service';
import { loadMe, session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { MemberContext } from './member-context.svelte';
import { MemberList, type LiveChange } from './member-list.svelte';
import type { MembershipAction } from './membership-actions';

export class UsersPage extends MemberContext {
  readonly list = new MemberList();
  busy = $state(new Set<string>());
  actionError = $state<string | null>(null);

  /** Seats follow member changes: one refetch for a burst of events, within 250 ms of the first. */
  readonly refreshAccountSoon = soon(() => void this.loadAccount());
  /** Changes by other admins, announced together when they come in a burst. */
  #pending: string[] = [];
  #announceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bulk actions already announced (one toast per bulk, whatever the number of its parts). */
  #announcedBulks = new Set<string>();

  /** The roles could not be read: the page says why (the filter and the row actions need them). */
  protected override rolesFailed(error: unknown): void {
    this.actionError = messageFor(error);
  }

  protected override teamsOff(): void {
    this.teams = [];
  }

  dispose(): void {
    this.refreshAccountSoon.cancel();
    clearTimeout(this.#announceTimer);
    this.list.dispose();
  }

  // ── Live ─────────────────────────────────────────────────────────────────────────────────

  #announce(message: string | null): void {
    if (!message) return;
    this.#pending.push(message);
    clearTimeout(this.#announceTimer);
    this.#announceTimer = setTimeout(() => {
      const messages = this.#pending;
      this.#pending = [];
      if (messages.length <= 3) messages.forEach((m) => toasts.show(m));
      else toasts.show(`${messages.length} members were changed by another admin.`);
    }, 400);
  }

  /** An account event from the live store. */
  apply({ event, data }: AccountEvent): void {
    const list = this.list;
    switch (event) {
      case 'user.upserted': {
        const change = list.upsert(data.member);
        if (!ownChanges.isMine(data.member)) this.#announce(describe(change));
        this.refreshAccountSoon();
        break;
      }
      case 'users.bulk': {
        // A bulk action: one pass over the rows per part, and one toast for the whole of it.
        list.applyBulk(data.members, data.removedIds);
        if (data.actor.id !== session.me?.member.id && !this.#announcedBulks.has(data.bulkId)) {
          this.#announcedBulks.add(data.bulkId);
          toasts.show(bulkToast(data));
        }
        this.refreshAccountSoon();
        break;
      }
      case 'user.removed': {
        const before = list.remove(data.id);
        if (before && !ownChanges.isMine({ id: data.id, email: before.email })) {
          this.#announce(
            before.status === 'invited'
              ? `The invitation to ${before.email} was cancelled.`
              : `${memberLabel(before)} was deleted.`,
          );
        }
        this.refreshAccountSoon();
        break;
      }
      case 'account.updated': {
        const teamsWereOn = this.account?.teamsEnabled;
        // Owner and billing contact live on the account: keep the rows' marks in step.
        this.applyAccount(data.account);
        if (data.account.teamsEnabled !== teamsWereOn) void this.loadTeams();
        break;
      }
      case 'role.upserted': {
        const role = data.role;
        this.roles = this.roles.some((r) => r.id === role.id)
          ? this.roles.map((r) => (r.id === role.id ? role : r))
          : [...this.roles, role];
        list.items = list.items.map((m) =>
          m.role.id === role.id && (m.role.name !== role.name || m.role.icon !== role.icon)
            ? { ...m, role: { id: role.id, name: role.name, icon: role.icon } }
            : m,
        );
        break;
      }
      case 'role.removed':
      case 'roles.reordered':
        void this.loadRoles();
        break;
      case 'team.upserted':
      case 'team.removed':
        void this.loadTeams();
        break;
    }
  }

  /** Resync, reconnect, or the viewer's access changed (a page opened before a promotion holds 403s). */
  reload(): void {
    this.actionError = null;
    void this.list.load(this.list.filters);
    void this.loadContext();
  }

  // ── Actions ──────────────────────────────────────────────────────────────────────────────

  async setAgent(member: MemberDto, on: boolean): Promise<void> {
    this.actionError = null;
    this.busy = new Set(this.busy).add(member.id);
    const outcome = await updateMember(member, { agentAccess: on });
    const next = new Set(this.busy);
    next.delete(member.id);
    this.busy = next;
    if (outcome.ok) {
      this.list.upsert(outcome.value);
      this.refreshAccountSoon();
      return;
    }
    const current = conflictOf<MemberDto>(outcome.error);
    if (current) {
      this.list.upsert(current);
      this.actionError = `${memberLabel(current)} was changed by someone else a moment ago. Their change is shown now; try again if you still want to change Talk access.`;
      return;
    }
    const seats = seatErrorMessage(outcome.error, this.account?.plan);
    this.actionError = seats
      ? `${memberLabel(member)} can’t get Talk access. ${seats}`
      : `Couldn’t change Talk access for ${memberLabel(member)}. ${messageFor(outcome.error)}`;
  }

  applyAccount(next: AccountDto): void {
    this.account = next;
    this.list.items = withAccountMarks(this.list.items, next);
  }

  /** Reads one row again (a transfer can give the member the Admin role, too). */
  async #refreshRow(id: string): Promise<void> {
    try {
      this.list.upsert(await fetchMember(id));
    } catch {
      // The live event brings it.
    }
  }

  /**
   * Runs a row menu action with the version the table shows, as the profile does: done, the row (and
   * the account's marks) follow the answer; a 412 closes the confirm, says someone else was first and
   * shows their change; anything else stays in the confirm dialog (thrown).
   */
  async perform(member: MemberDto, action: MembershipAction): Promise<void> {
    const { change } = action;
    const row = this.list.items.find((m) => m.id === member.id) ?? member;
    const version = change.target === 'member' ? row.version : (this.account?.version ?? 0);
    const outcome = await change.run(version);
    const what = change.description.charAt(0).toLowerCase() + change.description.slice(1);
    if (outcome.ok) {
      if (change.target === 'member') this.list.upsert(outcome.value as MemberDto);
      else {
        this.applyAccount(outcome.value as AccountDto);
        void this.#refreshRow(member.id);
        // My own owner or billing flags may have moved, and with them my row menus.
        void loadMe().catch(() => undefined);
      }
      this.refreshAccountSoon();
      return;
    }
    const current = conflictOf<MemberDto | AccountDto>(outcome.error);
    if (!current) throw outcome.error;
    if (change.target === 'member') {
      const now = current as MemberDto;
      this.list.upsert(now);
      this.actionError = `${memberLabel(now)} was changed by someone else a moment ago. Their change is shown now; try again if you still want to ${what}.`;
    } else {
      this.applyAccount(current as AccountDto);
      void this.#refreshRow(member.id);
      this.actionError = `The account was changed by someone else a moment ago (its owner or billing contact). The list shows it now; try again if you still want to ${what}.`;
    }
  }
}

function describe(change: LiveChange): string | null {
  return describeMemberChange(
    change.kind === 'updated' || change.kind === 'left' ? change.before : undefined,
    change.member,
  );
}
