import { Body, Inject, Query, Res } from '@nestjs/common';
import {
  createRoleSchema,
  deleteRoleQuerySchema,
  dryRunQuerySchema,
  FEATURE_KEYS,
  FEATURES,
  ACTION_LABELS,
  ADMIN_ONLY_PERMISSIONS,
  reorderRolesSchema,
  ROLE_ICONS,
  updateRoleSchema,
  type ActionKey,
  type PermissionCatalogueDto,
  type PermissionKey,
  type ReorderRolesRequest,
  type RoleDto,
  type RoleImpactPreviewDto,
  type RoleListDto,
  type UpdateRoleRequest,
} from '@rolecall/contracts';
import type { Response } from 'express';
import type { z } from 'zod';
import { Acting, Auth, Change, type RequestAuth } from '../database/request-auth.js';
import { DeleteRoute, GetRoute, IdParam, PatchRoute, PostRoute, PutRoute, type IdParams } from '../common/routes.js';
import { ApiController, ApiJsonBody } from '../common/openapi.js';
import { RolesService } from './roles.service.js';

/** The permission catalogue, built once from libs/contracts. */
const PERMISSION_CATALOGUE: PermissionCatalogueDto = {
  features: FEATURE_KEYS.map((feature) => ({
    key: feature,
    label: FEATURES[feature].label,
    actions: (FEATURES[feature].actions as readonly ActionKey[]).map((action) => {
      const key = `${feature}.${action}` as PermissionKey;
      return { key, label: ACTION_LABELS[action], adminOnly: ADMIN_ONLY_PERMISSIONS.has(key) };
    }),
  })),
  icons: [...ROLE_ICONS],
};

@ApiController({ tags: ['roles'] })
export class RolesController {
  constructor(@Inject(RolesService) private readonly roles: RolesService) {}

  @GetRoute('permissions', 'session')
  catalogue(): PermissionCatalogueDto {
    return PERMISSION_CATALOGUE;
  }

  @GetRoute('roles', ['roles.view', 'users.view'])
  async list(@Auth() auth: RequestAuth, @Res({ passthrough: true }) response: Response): Promise<RoleListDto> {
    const list = await this.roles.list(auth);
    response.setHeader('ETag', `"${list.rolesVersion}"`);
    return list;
  }

  /** Reorders the custom roles; `If-Match` carries the account's `rolesVersion`. */
  @PutRoute('roles/order', 'roles.manage')
  @ApiJsonBody(reorderRolesSchema, 'Every custom role id in the new order (If-Match: "<rolesVersion>")')
  async reorder(
    @Change() { auth, actor, ifMatch }: Change,
    @Body({ schema: reorderRolesSchema }) body: ReorderRolesRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<RoleListDto> {
    const list = await this.roles.reorder(auth, actor, ifMatch, body.roleIds);
    response.setHeader('ETag', `"${list.rolesVersion}"`);
    return list;
  }

  @GetRoute('roles/:id', 'roles.view')
  get(@Auth() auth: RequestAuth, @IdParam() { id }: IdParams): Promise<RoleDto> {
    return this.roles.get(auth, id);
  }

  @PostRoute('roles', 'roles.manage')
  @ApiJsonBody(createRoleSchema, 'Create a custom role (plan-gated)')
  create(
    @Acting() { auth, actor }: Acting,
    @Body({ schema: createRoleSchema }) body: z.output<typeof createRoleSchema>,
  ): Promise<RoleDto> {
    return this.roles.create(auth, actor, body);
  }

  /** 201 a custom copy of the role: "<name> (copy)", same description, icon and permissions, placed last (issue 17 §5). */
  @PostRoute('roles/:id/duplicate', 'roles.manage')
  duplicate(@Acting() { auth, actor }: Acting, @IdParam() { id }: IdParams): Promise<RoleDto> {
    return this.roles.duplicate(auth, actor, id);
  }

  /** `?dryRun=true` answers 200 with the impact (who gains and loses what) without writing; a refusal goes in `wouldFail`. */
  @PatchRoute('roles/:id', 'roles.manage')
  @ApiJsonBody(updateRoleSchema, 'Edit a custom role (If-Match required); ?dryRun=true previews the impact')
  update(
    @Change() { auth, actor, ifMatch }: Change,
    @IdParam() { id }: IdParams,
    @Query({ schema: dryRunQuerySchema }) query: z.output<typeof dryRunQuerySchema>,
    @Body({ schema: updateRoleSchema }) body: UpdateRoleRequest,
  ): Promise<RoleDto | RoleImpactPreviewDto> {
    return this.roles.update(auth, actor, id, ifMatch, body, query.dryRun);
  }

  /** 204; `?dryRun=true` answers 200 with the reassignment's impact (`wouldFail`: e.g. ROLE_IN_USE without `reassignTo`). */
  @DeleteRoute('roles/:id', 'roles.manage')
  async remove(
    @Change() { auth, actor, ifMatch }: Change,
    @IdParam() { id }: IdParams,
    @Query({ schema: deleteRoleQuerySchema }) query: z.output<typeof deleteRoleQuerySchema>,
    @Res({ passthrough: true }) response: Response,
  ): Promise<RoleImpactPreviewDto | void> {
    const impact = await this.roles.remove(auth, actor, id, ifMatch, query.reassignTo, query.dryRun);
    if (impact) {
      response.status(200);
      return impact;
    }
  }
}
