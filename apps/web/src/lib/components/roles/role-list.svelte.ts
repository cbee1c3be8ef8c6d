/**
 * The Roles page's list as reactive state: loaded once, kept current by live account events
 * (role upserted / removed / reordered apply at once; anything that may change members or the
 * account's `rolesVersion` triggers a quiet reload), and reordered optimistically.
 */
import type { AccountEvent, RoleDto, RoleListDto } from '@rolecall/contracts';
import { isApiError } from '$lib/api';
import { messageFor } from '$lib/errors';
import { applyRoleEvent, currentListOf, listRoles, reorderRoles, sortRoles, withCustomOrder } from '$lib/services/roles.service';
import { toasts } from '$lib/toast.svelte';

const REFRESH_DELAY_MS = 250;

export class RoleList {
  items = $state<RoleDto[]>([]);
  rolesVersion = $state(0);
  loadError = $state<unknown>(null);
  /** A reorder is being saved. */
  saving = $state(false);

  #refreshTimer: ReturnType<typeof setTimeout> | undefined;

  readonly system = $derived(this.items.filter((role) => role.system));
  readonly custom = $derived(this.items.filter((role) => !role.system));

  constructor(initial: RoleListDto | null) {
    if (initial) this.#set(initial);
  }

  #set(list: RoleListDto): void {
    this.items = sortRoles(list.items);
    this.rolesVersion = list.rolesVersion;
  }

  async load(): Promise<void> {
    try {
      const list = await listRoles();
      // Never step back to an older order than one already shown (e.g. our own save answered first).
      if (list.rolesVersion >= this.rolesVersion) this.#set(list);
      this.loadError = null;
    } catch (error) {
      this.loadError = error;
    }
  }

  /** A live account event: role changes apply at once; a quiet reload follows to pick up counts and `rolesVersion`. */
  apply(event: AccountEvent): void {
    const next = applyRoleEvent(this.items, event);
    if (next) this.items = next;
    if (next || event.event === 'user.upserted' || event.event === 'user.removed' || event.event === 'account.updated') {
      this.refreshSoon();
    }
  }

  refreshSoon(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => {
      if (this.saving) this.refreshSoon();
      else void this.load();
    }, REFRESH_DELAY_MS);
  }

  dispose(): void {
    clearTimeout(this.#refreshTimer);
  }

  /**
   * Saves a new order of the custom roles, showing it at once. When another admin reordered
   * first, shows theirs and says so; on any other failure, puts the previous order back.
   */
  async reorder(roleIds: string[]): Promise<void> {
    const previous = this.items;
    const seen = customIds(previous);
    this.items = withCustomOrder(this.items, roleIds);
    this.saving = true;
    let outcome = await reorderRoles(roleIds, this.rolesVersion);
    let current = outcome.ok ? null : currentListOf(outcome.error);
    // Live events carry the new order but not the new `rolesVersion`: if the order the move
    // started from is the current one, the 412 only means our version lagged. Save again.
    if (current && sameOrder(customIds(current.items), seen)) {
      outcome = await reorderRoles(roleIds, current.rolesVersion);
      current = outcome.ok ? null : currentListOf(outcome.error);
    }
    this.saving = false;
    if (outcome.ok) {
      this.#set(outcome.value);
      toasts.show('New order saved.');
      return;
    }
    if (isApiError(outcome.error, 'VERSION_MISMATCH')) {
      this.items = previous;
      if (current) this.#set(current);
      else await this.load();
      toasts.show('Another admin reordered the roles just before you. Their order is shown now; move the role again if needed.', 'error');
      return;
    }
    this.items = previous;
    toasts.show(messageFor(outcome.error), 'error');
  }
}

function customIds(roles: readonly RoleDto[]): string[] {
  return sortRoles(roles)
    .filter((role) => !role.system)
    .map((role) => role.id);
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}
