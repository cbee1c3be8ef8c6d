import {
  All,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../database/activity.service.js';
import { requestMeta } from '../database/request-auth.js';
import { Requires } from '../common/access.js';
import { SCIM_CONTENT_TYPE, ScimError, ScimErrorFilter } from './scim-errors.js';
import { listResponse, resourceTypes, schemas, serviceProviderConfig, versionOfEtag } from './scim-resources.js';
import { ScimService } from './scim.service.js';

type Q = Record<string, string | undefined>;

/** "SCIM (Okta)", "SCIM (Entra)" or "SCIM", from the client's User-Agent, for the activity log. */
function scimActorName(userAgent: string | undefined): string {
  if (/okta/i.test(userAgent ?? '')) return 'SCIM (Okta)';
  if (/azure|entra|microsoft|aad/i.test(userAgent ?? '')) return 'SCIM (Entra)';
  return 'SCIM';
}

/**
 * SCIM 2.0 service provider at `/scim/v2` (outside `/api/v1`; RFC 7644), for Okta and Microsoft
 * Entra. Declared `public` to the session guard: each request is authenticated here by the account's
 * SCIM bearer token, and answers `application/scim+json`, errors in SCIM's format.
 */
@Controller('scim/v2')
@UseFilters(ScimErrorFilter)
@Requires('public')
export class ScimController {
  constructor(@Inject(ScimService) private readonly scim: ScimService) {}

  private async context(request: Request): Promise<{ accountId: string; actor: Actor }> {
    const meta = requestMeta(request);
    const accountId = await this.scim.authenticate(request.headers.authorization, meta.ip ?? 'unknown');
    return {
      accountId,
      actor: { memberId: null, email: null, ...meta, kind: 'scim', name: scimActorName(request.headers['user-agent']) },
    };
  }

  private send(response: Response, status: number, body: unknown): void {
    const version = (body as { meta?: { version?: string } } | null)?.meta?.version;
    if (version) response.setHeader('ETag', version);
    response.status(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  @Get('ServiceProviderConfig')
  async config(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.context(request);
    this.send(response, 200, serviceProviderConfig(this.scim.baseUrl));
  }

  @Get('ResourceTypes')
  async resourceTypes(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.context(request);
    const list = resourceTypes(this.scim.baseUrl);
    this.send(response, 200, listResponse(list, list.length, 1));
  }

  @Get('Schemas')
  async schemas(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.context(request);
    const list = schemas(this.scim.baseUrl);
    this.send(response, 200, listResponse(list, list.length, 1));
  }

  @Get('Users')
  async listUsers(@Req() request: Request, @Query() query: Q, @Res() response: Response): Promise<void> {
    const { accountId } = await this.context(request);
    this.send(response, 200, await this.scim.listUsers(accountId, strings(query)));
  }

  @Get('Users/:id')
  async getUser(@Req() request: Request, @Param('id') id: string, @Res() response: Response): Promise<void> {
    const { accountId } = await this.context(request);
    this.send(response, 200, await this.scim.getUser(accountId, id));
  }

  @Post('Users')
  async createUser(@Req() request: Request, @Body() body: unknown, @Res() response: Response): Promise<void> {
    const { accountId, actor } = await this.context(request);
    const user = await this.scim.createUser(accountId, actor, body);
    response.setHeader('Location', user.meta.location);
    this.send(response, 201, user);
  }

  @Put('Users/:id')
  async replaceUser(
    @Req() request: Request,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const { accountId, actor } = await this.context(request);
    this.send(response, 200, await this.scim.replaceUser(accountId, actor, id, body, precondition(ifMatch)));
  }

  @Patch('Users/:id')
  async patchUser(
    @Req() request: Request,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const { accountId, actor } = await this.context(request);
    this.send(response, 200, await this.scim.patchUser(accountId, actor, id, body, precondition(ifMatch)));
  }

  @Delete('Users/:id')
  @HttpCode(204)
  async deleteUser(
    @Req() request: Request,
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<void> {
    const { accountId, actor } = await this.context(request);
    await this.scim.deleteUser(accountId, actor, id, precondition(ifMatch));
  }

  @Get('Groups')
  async listGroups(@Req() request: Request, @Query() query: Q, @Res() response: Response): Promise<void> {
    const { accountId } = await this.context(request);
    this.send(response, 200, await this.scim.listGroups(accountId, strings(query)));
  }

  @Get('Groups/:id')
  async getGroup(
    @Req() request: Request,
    @Param('id') id: string,
    @Query() query: Q,
    @Res() response: Response,
  ): Promise<void> {
    const { accountId } = await this.context(request);
    this.send(response, 200, await this.scim.getGroup(accountId, id, strings(query).excludedAttributes));
  }

  @Patch('Groups/:id')
  async patchGroup(
    @Req() request: Request,
    @Param('id') id: string,
    @Body() body: unknown,
    @Res() response: Response,
  ): Promise<void> {
    const { accountId, actor } = await this.context(request);
    this.send(response, 200, await this.scim.patchGroup(accountId, actor, id, body));
  }

  @Put('Groups/:id')
  async replaceGroup(
    @Req() request: Request,
    @Param('id') id: string,
    @Body() body: unknown,
    @Res() response: Response,
  ): Promise<void> {
    const { accountId, actor } = await this.context(request);
    this.send(response, 200, await this.scim.replaceGroup(accountId, actor, id, body));
  }

  /** Groups are the account's roles: they are made and deleted in Rolecall, not by the identity provider. */
  @Post('Groups')
  async createGroup(@Req() request: Request): Promise<never> {
    await this.context(request);
    throw new ScimError(501, "Groups are this account's roles: create roles in Rolecall, then push members to them");
  }

  @Delete('Groups/:id')
  async deleteGroup(@Req() request: Request): Promise<never> {
    await this.context(request);
    throw new ScimError(501, "Groups are this account's roles: delete roles in Rolecall");
  }

  /** Anything else under /scim/v2 (Bulk, /Me, a typo): 404 in SCIM's format, after the token check. */
  @All('{*rest}')
  async unknown(@Req() request: Request): Promise<never> {
    await this.context(request);
    throw new ScimError(
      404,
      `No SCIM endpoint ${request.method} ${request.path}; this service offers /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas`,
    );
  }
}

/** Query values as plain strings (a repeated parameter keeps its first value). */
function strings(query: Q): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? (value[0] as unknown) : value;
    if (typeof first === 'string') out[key] = first.slice(0, 1000);
  }
  return out;
}

function precondition(ifMatch: string | undefined): number | null {
  if (ifMatch === undefined || ifMatch.trim() === '*') return null;
  const version = versionOfEtag(ifMatch);
  if (version === null)
    throw new ScimError(400, 'If-Match must be an ETag this service gave (W/"<version>")', 'invalidVers');
  return version;
}
