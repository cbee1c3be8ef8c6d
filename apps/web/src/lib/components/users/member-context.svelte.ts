/**
 * What a page shows members with (the Users page's `UsersPage`, the profile's `MemberProfile`): the
 * account (seats, teams on or off, the owner and billing contact), the roles and the Talk teams,
 * and how they are loaded. A page says what a failure or teams turned off mean for it.
 */
import type { AccountDto, RoleDto, TeamDto } from '@rolecall/contracts';
import { fetchAccount, fetchRoles, fetchTeams } from '$lib/services/users.service';
import { session } from '$lib/session.svelte';

export class MemberContext {
  account = $state<AccountDto | null>(session.me?.account ?? null);
  roles = $state<RoleDto[]>([]);
  teams = $state<TeamDto[]>([]);
  /** The roles have been asked for once (read or failed): a form offering them no longer grows. */
  rolesRead = $state(false);

  /** The account, for members who may see it; on failure the last known one stays. */
  async loadAccount(): Promise<void> {
    if (!session.can('account.view')) return;
    try {
      this.account = await fetchAccount();
    } catch {
      // Keep the last known account (and the seat meter its numbers).
    }
  }

  async loadRoles(): Promise<void> {
    try {
      this.roles = (await fetchRoles()).items;
    } catch (error) {
      this.rolesFailed(error);
    } finally {
      this.rolesRead = true;
    }
  }

  /** The roles could not be read: none to offer. */
  protected rolesFailed(_error: unknown): void {
    this.roles = [];
  }

  async loadTeams(): Promise<void> {
    if (!this.account?.teamsEnabled) return this.teamsOff();
    try {
      this.teams = (await fetchTeams()).items;
    } catch {
      this.teams = [];
    }
  }

  /** Talk teams are off for the account: the teams last read stay (a page may empty them). */
  protected teamsOff(): void {}

  /** The account (then its teams) and the roles; settles when all are read (or failed). */
  async loadContext(): Promise<void> {
    await Promise.all([this.loadAccount().then(() => this.loadTeams()), this.loadRoles()]);
  }
}
