/**
 * The member profile's state (`/users/[id]`): the member, the account, roles and teams it is shown
 * with, the changes made from the page (each sent with `If-Match`; a 412 opens the conflict view
 * with the member as it is now), and how an account event from the live store patches them.
 */
import type { AccountDto, AccountEvent, MemberDetailDto, MemberDto, UpdateMemberRequest } from '@rolecall/contracts';
import { goto } from '$app/navigation';
import type { Outcome } from '$lib/services/outcome';
import {
  conflictOf,
  describeMemberChange,
  endMemberSessions,
  fetchMember,
  memberLabel,
  ownChanges,
  updateMember,
} from '$lib/services/users.service';
import { loadMe, session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { holdForFirstContent } from '$lib/after-paint';
import { MemberContext } from './member-context.svelte';
import { describeAccessChange, type Conflict, type PendingChange } from './profile';

export class MemberProfile extends MemberContext {
  member = $state<MemberDetailDto | null>(null);
  loadError = $state<unknown>(null);
  removed = $state(false);
  conflict = $state<Conflict | null>(null);
  dirty = $state(false);
  /** The member as it was when editing began: what a 412 is compared with. */
  editBase = $state<MemberDto | null>(null);
  names = $state<Record<string, string>>({});
  /** The member the page shows (its address). */
  #id = '';

  /** Shows the member `id` (the page's address changed). */
  open(id: string): void {
    this.#id = id;
    this.member = null;
    this.loadError = null;
    this.removed = false;
    this.conflict = null;
    this.dirty = false;
    holdForFirstContent(this.loadMember(id));
  }

  // ── Loading ──────────────────────────────────────────────────────────────────────────────

  async loadMember(memberId: string): Promise<void> {
    try {
      const loaded = await fetchMember(memberId);
      if (memberId !== this.#id) return;
      this.member = loaded;
      this.loadError = null;
    } catch (error) {
      if (memberId !== this.#id) return;
      this.loadError = error;
    }
  }

  // ── Changes (If-Match, 412) ──────────────────────────────────────────────────────────────

  nameOf(memberId: string): string {
    const me = session.me;
    if (this.member && memberId === this.member.id) return memberLabel(this.member);
    if (me && memberId === me.member.id) return 'You';
    return this.names[memberId] ?? 'another member';
  }

  async #learnNames(ids: string[]): Promise<void> {
    for (const memberId of ids) {
      if (this.names[memberId] || memberId === this.member?.id || memberId === session.me?.member.id) continue;
      try {
        this.names[memberId] = memberLabel(await fetchMember(memberId));
      } catch {
        // "another member" it is.
      }
    }
  }

  /** Applies an answer: true when the change was made, false on a 412 (the conflict notice opens). */
  async #settle(change: PendingChange, before: MemberDto | AccountDto, outcome: Outcome<unknown>): Promise<boolean> {
    if (outcome.ok) {
      this.conflict = null;
      const value = outcome.value;
      if (change.removes) {
        await goto('/users');
        return true;
      }
      if (change.target === 'member' && value && typeof value === 'object' && this.member) {
        this.member = { ...this.member, ...(value as MemberDetailDto) };
        // Resending changes the expiry, which only the detail answer carries.
        void this.loadMember(this.member.id);
      }
      if (change.target === 'account' && value && typeof value === 'object') {
        this.account = value as AccountDto;
        if (this.member) void this.loadMember(this.member.id);
        void loadMe().catch(() => undefined);
      }
      return true;
    }
    const current = conflictOf<MemberDetailDto | AccountDto>(outcome.error);
    if (!current) throw outcome.error;
    this.conflict = { change, before, current };
    if (change.target === 'member' && this.member) this.member = { ...this.member, ...(current as MemberDetailDto) };
    if (change.target === 'account') {
      const next = current as AccountDto;
      this.account = next;
      void this.#learnNames([next.ownerId, next.billingContactId]);
    }
    return false;
  }

  /** Runs a change against the version this page shows; a 412 opens the conflict notice. */
  perform = async (change: PendingChange): Promise<void> => {
    if (!this.member) return;
    const before = change.target === 'member' ? $state.snapshot(this.member) : $state.snapshot(this.account);
    if (!before) return;
    const version = change.target === 'member' ? this.member.version : (this.account?.version ?? 0);
    await this.#settle(change, before as MemberDto | AccountDto, await change.run(version));
  };

  saveAccess = async (change: UpdateMemberRequest, version: number): Promise<boolean> => {
    if (!this.member) return false;
    const target = this.member;
    const pending: PendingChange = {
      ...describeAccessChange(change, this.roles, this.teams),
      target: 'member',
      run: (v) => updateMember(target, change, v),
    };
    const before = this.editBase ?? ($state.snapshot(this.member) as MemberDto);
    return this.#settle(pending, before, await pending.run(version));
  };

  endSessions = async (): Promise<void> => {
    if (!this.member) return;
    const target = this.member;
    await this.perform({ description: 'End all sessions', target: 'member', run: (v) => endMemberSessions(target, v) });
  };

  retry = async (): Promise<void> => {
    if (!this.conflict) return;
    const change = this.conflict.change;
    this.conflict = null;
    await this.perform(change);
  };

  keepTheirs = (): void => {
    this.conflict = null;
    this.dirty = false;
  };

  // ── Live ─────────────────────────────────────────────────────────────────────────────────

  /** An account event from the live store. */
  apply({ event, data }: AccountEvent): void {
    const member = this.member;
    if (event === 'user.upserted' && member && data.member.id === member.id) {
      if (data.member.version < member.version) return;
      this.member = { ...member, ...data.member };
      if (!ownChanges.isMine(data.member)) {
        const message = describeMemberChange(member, data.member);
        if (message) toasts.show(message);
      }
      if (member.status !== data.member.status || member.invitedAt !== data.member.invitedAt)
        void this.loadMember(member.id);
    } else if (event === 'user.removed' && member && data.id === member.id) {
      this.removed = true;
      if (!ownChanges.isMine({ id: member.id, email: member.email }))
        toasts.show(`${memberLabel(member)} was removed from the account.`);
    } else if (event === 'account.updated') {
      const before = this.account;
      this.account = data.account;
      if (data.account.teamsEnabled && !before?.teamsEnabled) void this.loadTeams();
      // Owner and billing contact changes also change the member (marks, role, version).
      const moved =
        before &&
        (before.ownerId !== data.account.ownerId || before.billingContactId !== data.account.billingContactId);
      if (moved && member) void this.loadMember(member.id);
    } else if (event === 'role.upserted' || event === 'role.removed' || event === 'roles.reordered') {
      // The member's role renamed (or re-iconed): their record shows it at once.
      if (event === 'role.upserted' && member && member.role.id === data.role.id)
        this.member = { ...member, role: { id: data.role.id, name: data.role.name, icon: data.role.icon } };
      void this.loadRoles();
    } else if (event === 'team.upserted' || event === 'team.removed') {
      void this.loadTeams();
    }
  }

  /** Resync, reconnect, or the viewer's access changed. */
  reload(): void {
    void this.loadMember(this.#id);
    void this.loadContext();
  }
}
