/**
 * The role editor's form as plain data: what it starts from, what changed against the saved
 * role, how a change is re-applied on top of another admin's version, and the rows that compare
 * the two when saving answered 412.
 */
import type { PermissionCatalogueDto, PermissionKey, RoleDto, RoleIcon, UpdateRoleRequest } from '@rolecall/contracts';
import { conflictRow, type ConflictRow } from '$lib/components/live/conflict';
import { describeFeature, sameKeys } from './permission-matrix';

export interface RoleForm {
  name: string;
  description: string;
  icon: RoleIcon;
  permissions: PermissionKey[];
}

const NEW_ROLE_ICON: RoleIcon = 'user';

export function formOf(role: RoleDto | null): RoleForm {
  return role
    ? { name: role.name, description: role.description, icon: role.icon, permissions: [...role.permissions] }
    : { name: '', description: '', icon: NEW_ROLE_ICON, permissions: [] };
}

/** The fields of `form` that differ from the saved `role` (names and descriptions compared trimmed). */
export function changesOf(role: RoleDto, form: RoleForm): UpdateRoleRequest {
  const changes: UpdateRoleRequest = {};
  if (form.name.trim() !== role.name) changes.name = form.name.trim();
  if (form.description.trim() !== role.description) changes.description = form.description.trim();
  if (form.icon !== role.icon) changes.icon = form.icon;
  if (!sameKeys(form.permissions, role.permissions)) changes.permissions = [...form.permissions];
  return changes;
}

/** Whether a new role's form holds anything worth keeping. */
export function isNewFormDirty(form: RoleForm): boolean {
  return (
    form.name.trim() !== '' ||
    form.description.trim() !== '' ||
    form.icon !== NEW_ROLE_ICON ||
    form.permissions.length > 0
  );
}

/** My changed fields on top of their version: what "Apply my change again" saves. */
export function reapply(theirs: RoleDto, mine: UpdateRoleRequest): RoleForm {
  return {
    name: mine.name ?? theirs.name,
    description: mine.description ?? theirs.description,
    icon: mine.icon ?? theirs.icon,
    permissions: (mine.permissions as PermissionKey[] | undefined) ?? [...theirs.permissions],
  };
}

function iconName(icon: string): string {
  return icon.charAt(0).toUpperCase() + icon.slice(1);
}

/**
 * Mine beside theirs, for every field where they differ: what I changed (or "Not changed by
 * you" where they changed a field I left alone, which re-applying keeps as theirs).
 */
export function conflictRows(
  catalogue: PermissionCatalogueDto,
  base: RoleDto,
  mine: UpdateRoleRequest,
  theirs: RoleDto,
): ConflictRow[] {
  const rows: ConflictRow[] = [];
  const text = (
    label: string,
    my: string | undefined,
    their: string,
    before: string,
    show: (v: string) => string = (v) => v,
  ) => {
    const shown = (value: string) => show(value) || '(empty)';
    const row = conflictRow(label, my === undefined ? undefined : shown(my), shown(their), before !== their);
    if (row) rows.push(row);
  };
  text('Name', mine.name, theirs.name, base.name);
  text('Description', mine.description, theirs.description, base.description);
  text('Icon', mine.icon, theirs.icon, base.icon, iconName);

  const myKeys = mine.permissions === undefined ? null : new Set<string>(mine.permissions);
  const theirKeys = new Set<string>(theirs.permissions);
  const baseKeys = new Set<string>(base.permissions);
  for (const feature of catalogue.features) {
    const theirText = describeFeature(feature, theirKeys);
    const myText = myKeys ? describeFeature(feature, myKeys) : undefined;
    const row = conflictRow(
      `${feature.label} permissions`,
      myText,
      theirText,
      describeFeature(feature, baseKeys) !== theirText,
    );
    if (row) rows.push(row);
  }
  return rows;
}
