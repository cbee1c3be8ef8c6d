import { Inject, Injectable } from '@nestjs/common';
import type { MemberPermissionsDto, RolePreviewDto } from '@rolecall/contracts';
import { effectivePermissions, explainPermissions } from '@rolecall/domain';
import { AccountEntity } from '../database/entities/account.entity.js';
import { AccountMutations } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { notFound } from '../common/domain-error.js';
import { Database } from '../database/database.service.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { rolePermissions } from '../database/permissions.service.js';
import { RoleEntity } from '../database/entities/role.entity.js';

/**
 * "View as" (issue 17 §4). Both answers come from libs/domain's resolver (`effectivePermissions`,
 * which `explainPermissions` calls): what is shown is what the API enforces.
 */
@Injectable()
export class ViewAsService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
  ) {}

  /** A member's effective permissions with where each comes from; 404 outside the caller's account. */
  memberPermissions(auth: RequestAuth, id: string): Promise<MemberPermissionsDto> {
    return this.db.read(async (manager) => {
      const member = await manager.getRepository(MemberEntity).findOneBy({ id, accountId: auth.account.id });
      if (!member) throw notFound('Member');
      const account = await manager.getRepository(AccountEntity).findOneByOrFail({ id: auth.account.id });
      const role = await manager.getRepository(RoleEntity).findOneByOrFail({ id: member.roleId });
      const explained = explainPermissions(
        {
          status: member.status,
          agentAccess: member.agentAccess,
          isBillingContact: account.billingContactMemberId === member.id,
          isOwner: account.ownerMemberId === member.id,
        },
        { name: role.name, permissions: rolePermissions(role) },
      );
      return {
        memberId: member.id,
        status: member.status,
        role: { id: role.id, name: role.name, icon: role.icon },
        version: member.permissionsVersion,
        ...explained,
      };
    });
  }

  /**
   * Starts a read-only preview of the dashboard as a role: nothing but the activity entry
   * `role.previewed` is written (through `AccountMutations`, so the entry is chained and streamed
   * like every other), and no session is made. Answers the keys an active holder with agent
   * access would hold.
   */
  preview(auth: RequestAuth, actor: Actor, id: string): Promise<RolePreviewDto> {
    return this.mutations.run(auth, actor, async ({ tx, log }) => {
      const role = await tx.manager.getRepository(RoleEntity).findOneBy({ id });
      if (!role || (role.accountId !== null && role.accountId !== auth.account.id)) throw notFound('Role');
      const keys = effectivePermissions(
        { status: 'active', agentAccess: true, isBillingContact: false },
        rolePermissions(role),
      );
      await log({ action: 'role.previewed', target: { type: 'role', id: role.id, label: role.name }, changes: null });
      return { role: { id: role.id, name: role.name, icon: role.icon, system: role.accountId === null }, keys };
    });
  }
}
