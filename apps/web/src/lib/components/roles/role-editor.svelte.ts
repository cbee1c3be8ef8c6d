/**
 * The role editor's state (`RoleEditor.svelte`): the saved version the form is relative to, the
 * form, its messages, and what saving does — a new role is created; an edit that changes
 * permissions first asks `RoleImpactDialog` (who gains and loses what); a 412 (another admin saved
 * first) becomes `conflict`, for the conflict view. Another admin's save replaces the form while it
 * is untouched; with unsaved changes the form is kept and `changedElsewhere` says so.
 */
import {
  createRoleSchema,
  type PermissionCatalogueDto,
  type RoleDto,
  type RoleImpactDto,
  type UpdateRoleRequest,
} from '@rolecall/contracts';
import { tick } from 'svelte';
import { goto } from '$app/navigation';
import { isApiError } from '$lib/api';
import { check, focusFirstInvalid, splitError, type FieldErrors } from '$lib/forms';
import { live } from '$lib/live';
import { soon } from '$lib/soon';
import {
  createRole,
  currentRoleOf,
  getRole,
  planMessage,
  previewRoleChange,
  updateRole,
} from '$lib/services/roles.service';
import { session } from '$lib/session.svelte';
import { toasts } from '$lib/toast.svelte';
import { changesOf, conflictRows, formOf, isNewFormDirty, reapply, type RoleForm } from './role-form';

const FIELDS = ['name', 'description', 'icon', 'permissions'];

export class RoleEditorState {
  readonly #catalogue: PermissionCatalogueDto;
  /** The saved version the form's changes are relative to; `null` for a new role. */
  baseline = $state<RoleDto | null>(null);
  form = $state<RoleForm>(formOf(null));
  fieldErrors = $state<FieldErrors>({});
  formError = $state<string | null>(null);
  saving = $state(false);
  impact = $state<RoleImpactDto | null>(null);
  impactOpen = $state(false);
  pendingChanges = $state<UpdateRoleRequest | null>(null);
  conflict = $state<{ base: RoleDto; mine: UpdateRoleRequest; theirs: RoleDto } | null>(null);
  /** Another admin saved this role while the form had unsaved changes. */
  changedElsewhere = $state(false);
  removed = $state(false);
  formElement = $state<HTMLFormElement | undefined>();

  readonly isNew = $derived(this.baseline === null);
  readonly canManage = $derived(session.can('roles.manage'));
  readonly readonly = $derived(!!this.baseline?.system || !this.canManage || this.removed);
  readonly changes = $derived(this.baseline ? changesOf(this.baseline, this.form) : {});
  readonly dirty = $derived(
    !this.readonly && (this.baseline ? Object.keys(this.changes).length > 0 : isNewFormDirty(this.form)),
  );
  readonly subtitle = $derived.by(() => subtitleOf(this.baseline));
  /** The conflict view's rows: base, mine and theirs per field. */
  readonly rows = $derived.by(() => this.#conflictRows());

  /** Who holds the role ("held by 3 members") moves with member changes, not the role's version. */
  readonly #refreshSoon = soon(() => void this.refresh());

  constructor(catalogue: PermissionCatalogueDto, role: RoleDto | null) {
    this.#catalogue = catalogue;
    this.baseline = role;
    this.form = formOf(role);
  }

  /** Follows the live store (in an `$effect`); returns the clean-up. */
  follow(): () => void {
    const stop = live.follow({
      event: (event) => {
        const current = this.baseline;
        if (!current) return;
        if (event.event === 'role.upserted' && event.data.role.id === current.id) {
          if (event.data.role.version <= current.version || this.saving) return;
          if (this.dirty || this.conflict) {
            this.changedElsewhere = true;
          } else {
            this.#show(event.data.role);
          }
        } else if (event.event === 'role.removed' && event.data.id === current.id) {
          this.removed = true;
        } else if (event.event === 'user.upserted' || event.event === 'user.removed') {
          this.#refreshSoon();
        }
      },
      reload: () => void this.refresh(),
    });
    return () => {
      stop();
      this.#refreshSoon.cancel();
    };
  }

  async refresh(): Promise<void> {
    const current = this.baseline;
    if (!current) return;
    try {
      const fresh = await getRole(current.id);
      if (!this.dirty && fresh.version > current.version) {
        this.#show(fresh);
      } else if (this.baseline && fresh.version === this.baseline.version) {
        // Same role, new holders: the counts follow, the form is left alone.
        this.baseline = {
          ...this.baseline,
          memberCount: fresh.memberCount,
          invitedCount: fresh.invitedCount,
          members: fresh.members,
        };
      }
    } catch (error) {
      if (isApiError(error, 'NOT_FOUND')) this.removed = true;
    }
  }

  #conflictRows() {
    const { conflict } = this;
    return conflict ? conflictRows(this.#catalogue, conflict.base, conflict.mine, conflict.theirs) : [];
  }

  /** Shows a saved version in the form. */
  #show(role: RoleDto): void {
    this.baseline = role;
    this.form = formOf(role);
  }

  clearErrors(): void {
    this.fieldErrors = {};
    this.formError = null;
  }

  async #showInvalid(fields: FieldErrors): Promise<void> {
    this.fieldErrors = fields;
    await tick();
    focusFirstInvalid(this.formElement);
  }

  async save(): Promise<void> {
    if (this.saving || this.readonly) return;
    this.clearErrors();
    const checked = check(createRoleSchema, { ...this.form });
    if (!checked.ok) {
      await this.#showInvalid(checked.fields);
      if (checked.fields['_']) this.formError = checked.fields['_'].join(' ');
      return;
    }
    if (!this.baseline) {
      await this.#create();
      return;
    }
    const change = this.changes;
    if (Object.keys(change).length === 0) return;
    if (change.permissions === undefined) {
      await this.commit(this.baseline, change);
      return;
    }
    this.saving = true;
    const outcome = await previewRoleChange(this.baseline, change);
    this.saving = false;
    if (!outcome.ok) {
      await this.#handleError(outcome.error, change);
      return;
    }
    this.impact = outcome.value;
    this.pendingChanges = change;
    this.impactOpen = true;
  }

  async #create(): Promise<void> {
    this.saving = true;
    const { form } = this;
    const outcome = await createRole({
      name: form.name.trim(),
      description: form.description.trim(),
      icon: form.icon,
      permissions: form.permissions,
    });
    if (outcome.ok) {
      this.form = formOf(outcome.value);
      this.baseline = outcome.value;
      await goto('/roles');
      this.saving = false;
      return;
    }
    this.saving = false;
    await this.#handleError(outcome.error, {});
  }

  async commit(base: RoleDto, change: UpdateRoleRequest): Promise<void> {
    this.saving = true;
    const outcome = await updateRole(base, change);
    this.saving = false;
    this.impactOpen = false;
    this.pendingChanges = null;
    if (outcome.ok) {
      this.#show(outcome.value);
      this.changedElsewhere = false;
      return;
    }
    await this.#handleError(outcome.error, change);
  }

  async #handleError(error: unknown, change: UpdateRoleRequest): Promise<void> {
    const theirs = currentRoleOf(error);
    if (theirs && this.baseline) {
      this.conflict = { base: this.baseline, mine: change, theirs };
      this.changedElsewhere = false;
      return;
    }
    if (isApiError(error, 'NOT_FOUND') && this.baseline) {
      this.removed = true;
      return;
    }
    const plan = planMessage(error, session.me?.account.plan);
    if (plan) {
      this.formError = plan;
      return;
    }
    const split = splitError(error, FIELDS);
    this.formError = split.form;
    if (Object.keys(split.fields).length > 0) await this.#showInvalid(split.fields);
  }

  /** "Apply my change again": my changed fields on top of their version, saved against theirs. */
  reapply(): void {
    if (!this.conflict) return;
    const { theirs, mine } = this.conflict;
    this.conflict = null;
    this.baseline = theirs;
    this.form = reapply(theirs, mine);
    if (Object.keys(changesOf(theirs, this.form)).length === 0) {
      toasts.show('Their version already includes your change: nothing more to save.');
      return;
    }
    void this.save();
  }

  /** "Keep theirs": drop my change and show their version. */
  keepTheirs(): void {
    if (!this.conflict) return;
    const { theirs } = this.conflict;
    this.conflict = null;
    this.#show(theirs);
    this.clearErrors();
    toasts.show('Your change was discarded. The role is as the other admin saved it.');
  }

  discard(): void {
    this.form = formOf(this.baseline);
    this.clearErrors();
    this.changedElsewhere = false;
  }

  confirmImpact(): void {
    if (this.baseline && this.pendingChanges) void this.commit(this.baseline, this.pendingChanges);
  }
}

/** "A custom role, held by 3 members and 1 invited." */
function subtitleOf(role: RoleDto | null): string {
  if (!role) return 'A custom role with exactly the permissions a group of people needs.';
  const kind = role.system ? 'A built-in role' : 'A custom role';
  const { memberCount, invitedCount } = role;
  if (memberCount + invitedCount === 0) return `${kind}. Nobody has it yet.`;
  const held = memberCount === 1 ? '1 member' : `${memberCount} members`;
  const invited = invitedCount > 0 ? ` and ${invitedCount} invited` : '';
  return `${kind}, held by ${held}${invited}.`;
}
