import type { EntityManager } from 'typeorm';
import { validationFailed } from '../common/domain-error.js';
import { RoleEntity } from './entities/role.entity.js';
import { TeamEntity } from './entities/team.entity.js';

/**
 * A role's or a team's name is unique in its account whatever the case (`name_key` holds it lower-cased):
 * 400 on `name` when another one (not `exceptId`, the one being renamed) already has it.
 */
export async function assertNameFree(
  manager: EntityManager,
  entity: typeof RoleEntity | typeof TeamEntity,
  { accountId, name, exceptId }: { accountId: string; name: string; exceptId?: string | undefined },
): Promise<void> {
  const clash = await manager.findOneBy(entity, { accountId, nameKey: name.toLowerCase() });
  const what = entity === RoleEntity ? 'role' : 'team';
  if (clash && clash.id !== exceptId) throw validationFailed({ name: [`A ${what} with this name already exists`] });
}
