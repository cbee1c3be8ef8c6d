/**
 * The role editor's form as plain data: what it starts from, what changed against the saved
 * role, how a change is re-applied on top of another admin's version, and the rows that compare
 * the two when saving answered 412.
 */
import type { PermissionCatalogueDto, PermissionKey, RoleDto, RoleIcon, UpdateRoleRequest } from '@rolecall/contracts';
import { describeFeature, sameKeys } from './permission-matrix';

export interface RoleForm {
  name: string;
  description: string;
  icon: RoleIcon;
  permissions: PermissionKey[];
}

export const NEW_ROLE_ICON: RoleIcon = 'user';

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
  return form.name.trim() !== '' || form.description.trim() !== '' || form.icon !== NEW_ROLE_ICON || form.permissions.length > 0;
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

export interface ConflictRow {
  label: string;
  mine: string;
  theirs: string;
}

const NOT_CHANGED = 'Not changed by you';

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
  const text = (label: string, my: string | undefined, their: string, before: string, show: (v: string) => string = (v) => v) => {
    if (my !== undefined ? my === their : before === their) return;
    rows.push({ label, mine: my !== undefined ? show(my) || '(empty)' : NOT_CHANGED, theirs: show(their) || '(empty)' });
  };
  text('Name', mine.name, theirs.name, base.name);
  text('Description', mine.description, theirs.description, base.description);
  text('Icon', mine.icon, theirs.icon, base.icon, iconName);

  const myKeys = mine.permissions === undefined ? null : new Set<string>(mine.permissions);
  const theirKeys = new Set<string>(theirs.permissions);
  const baseKeys = new Set<string>(base.permissions);
  for (const feature of catalogue.features) {
    const theirText = describeFeature(feature, theirKeys);
    if (myKeys) {
      const myText = describeFeature(feature, myKeys);
      if (myText !== theirText) rows.push({ label: `${feature.label} permissions`, mine: myText, theirs: theirText });
    } else if (describeFeature(feature, baseKeys) !== theirText) {
      rows.push({ label: `${feature.label} permissions`, mine: NOT_CHANGED, theirs: theirText });
    }
  }
  return rows;
}
