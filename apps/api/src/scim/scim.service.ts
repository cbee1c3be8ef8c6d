import { Inject, Injectable } from '@nestjs/common';
import { checkRemoval, checkRoleChange } from '@rolecall/domain';
import { parse as parseFilter, type Filter } from 'scim2-parse-filter';
import { scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { In, IsNull, type EntityManager } from 'typeorm';
import { AccountEntity } from '../database/entities/account.entity.js';
import { assertSeatsFor } from '../database/seats.js';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import { publishMemberChanged, publishMembersChanged } from '../database/committed-member.js';
import type { Actor } from '../database/activity.service.js';
import { RateLimitService } from '../infra/rate-limit.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { newToken, sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database } from '../database/database.service.js';
import { InvitationEntity } from '../database/entities/invitation.entity.js';
import { MemberEntity, syncSortKeys } from '../database/entities/member.entity.js';
import { insertMember } from '../database/persons.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { RoleEntity } from '../database/entities/role.entity.js';
import { SessionsService } from '../database/sessions.service.js';
import { ScimError } from './scim-errors.js';
import {
  DEFAULT_ROLE_ID,
  listResponse,
  toScimGroup,
  scimPaging,
  toScimUser,
  USER_SCHEMA,
  type ScimUser,
} from './scim-resources.js';
import { ScimTokenEntity } from '../database/entities/scim-token.entity.js';
import { memberRemoved, sessionsRevoked } from '../events/domain-events.js';

/** Only write `last_used_at` when it is this stale (like sessions' touch). */
const TOUCH_AFTER_MS = 60_000;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,188}\.[^\s@]{1,63}$/;

/** What a SCIM request may change on a user. */
interface UserChange {
  active?: boolean;
  externalId?: string | null;
  userName?: string;
  name?: string | null;
}

export interface ScimTokenStatus {
  enabled: boolean;
  baseUrl: string;
  createdAt: string | null;
  lastUsedAt: string | null;
}

/**
 * SCIM 2.0 provisioning (RFC 7643/7644, issue 16 §2): the account's identity provider creates,
 * updates, deactivates and deletes members, and moves them between roles (groups). Every change is a
 * normal mutation — account lock, seat checks, owner rules, an activity entry whose actor is
 * "SCIM (Okta)"/"SCIM (Entra)", live events after commit. Deactivation ends the member's sessions at
 * once with the live reason `deprovisioned`.
 */
@Injectable()
export class ScimService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
  ) {}

  get baseUrl(): string {
    return `${this.config.publicUrl.replace(/\/+$/, '')}/scim/v2`;
  }

  // ---- the token (`/api/v1/account/scim-token`) ----

  async tokenStatus(accountId: string): Promise<ScimTokenStatus> {
    const row = await this.db.read((m) => m.getRepository(ScimTokenEntity).findOneBy({ accountId }));
    return {
      enabled: row !== null,
      baseUrl: this.baseUrl,
      createdAt: row?.createdAt ?? null,
      lastUsedAt: row?.lastUsedAt ?? null,
    };
  }

  /** A new token (shown once); the old one stops working in the same transaction. */
  async issueToken(auth: RequestAuth, actor: Actor): Promise<{ token: string; baseUrl: string; createdAt: string }> {
    const token = `scim_${newToken()}`;
    const createdAt = this.clock.now().toISOString();
    await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const tokens = tx.manager.getRepository(ScimTokenEntity);
      const replaced = (await tokens.delete({ accountId: account.id })).affected ? true : false;
      await tokens.insert({
        accountId: account.id,
        tokenHash: sha256Hex(token),
        createdAt,
        createdByMemberId: auth.member.id,
        lastUsedAt: null,
      });
      await log({
        action: 'scim.token_created',
        target: { type: 'account', id: account.id, label: account.name },
        changes: { replaced },
      });
    });
    return { token, baseUrl: this.baseUrl, createdAt };
  }

  async revokeToken(auth: RequestAuth, actor: Actor): Promise<void> {
    await this.mutations.run(auth, actor, async ({ tx, account, log }) => {
      const removed = await tx.manager.getRepository(ScimTokenEntity).delete({ accountId: account.id });
      if (!removed.affected) throw new ScimError(404, 'SCIM is not turned on for this account');
      await log({ action: 'scim.token_revoked', target: { type: 'account', id: account.id, label: account.name } });
    });
  }

  /**
   * The account of a SCIM bearer token, or 401. Wrong tokens are counted per client IP
   * (`scimFailuresPerIp` in the window, then 429 with Retry-After, checked before the lookup so a
   * guess past the limit learns nothing): the right token never counts, so an identity provider is
   * refused only while its own address is the one guessing.
   */
  async authenticate(header: string | undefined, ip: string): Promise<string> {
    await this.limits.check('scimFailures', ip);
    const match = /^Bearer\s+(scim_[A-Za-z0-9_-]{20,200})$/.exec(header?.trim() ?? '');
    const row = match
      ? await this.db.read((m) => m.getRepository(ScimTokenEntity).findOneBy({ tokenHash: sha256Hex(match[1]!) }))
      : null;
    if (!row) {
      await this.limits.consume('scimFailures', ip);
      throw new ScimError(
        401,
        match
          ? 'This SCIM token is not valid (it may have been replaced or turned off)'
          : 'A SCIM bearer token is required (Account page → Provisioning)',
      );
    }
    const now = this.clock.now();
    if (!row.lastUsedAt || now.getTime() - new Date(row.lastUsedAt).getTime() >= TOUCH_AFTER_MS) {
      await this.db.transaction(({ manager }) =>
        manager.getRepository(ScimTokenEntity).update({ accountId: row.accountId }, { lastUsedAt: now.toISOString() }),
      );
    }
    return row.accountId;
  }

  // ---- Users ----

  async listUsers(accountId: string, query: { filter?: string; startIndex?: string; count?: string }) {
    const { startIndex, count } = scimPaging(query);
    return this.db.read(async (manager) => {
      const q = manager
        .getRepository(MemberEntity)
        .createQueryBuilder('m')
        .where('m.account_id = :accountId', { accountId });
      if (query.filter) applyUserFilter(q, parsedFilter(query.filter));
      const total = await q.getCount();
      const rows =
        count === 0
          ? []
          : await q
              .orderBy('m.created_at', 'ASC')
              .addOrderBy('m.id', 'ASC')
              .offset(startIndex - 1)
              .limit(count)
              .getMany();
      const roles = await rolesById(
        manager,
        accountId,
        rows.map((m) => m.roleId),
      );
      return listResponse(
        rows.map((m) => toScimUser(m, roles.get(m.roleId) ?? null, this.baseUrl)),
        total,
        startIndex,
      );
    });
  }

  getUser(accountId: string, id: string): Promise<ScimUser> {
    return this.db.read(async (manager) => {
      const member = await memberIn(manager, accountId, id);
      return toScimUser(
        member,
        (await rolesById(manager, accountId, [member.roleId])).get(member.roleId) ?? null,
        this.baseUrl,
      );
    });
  }

  /** POST /Users: a new member who signs in through the account's provider (no password, no mail). */
  async createUser(accountId: string, actor: Actor, body: unknown): Promise<ScimUser> {
    const input = userInput(body, true);
    return this.mutations.run(accountId, actor, async (context) => {
      const { tx, account } = context;
      const email = input.userName!;
      const existing = await tx.manager.getRepository(MemberEntity).findOneBy({ accountId: account.id, email });
      if (existing)
        throw new ScimError(409, `${email} is already a member of this account (id ${existing.id})`, 'uniqueness');
      const active = input.active !== false;
      if (active) await assertSeatsFor(tx.manager, account, { seats: 1, agents: 0 });
      const person = await tx.manager.getRepository(PersonEntity).findOneBy({ email });
      const now = this.clock.now().toISOString();
      const member = await insertMember(
        tx.manager,
        {
          accountId: account.id,
          personId: person?.id ?? null,
          email,
          name: person?.name ?? input.name ?? null,
          status: active ? 'invited' : 'revoked',
          roleId: DEFAULT_ROLE_ID,
          agentAccess: false,
          invitedByMemberId: null,
          externalId: input.externalId ?? null,
          scimProvisioned: true,
        },
        now,
      );
      const entry = await context.log({
        action: 'user.provisioned',
        target: { type: 'member', id: member.id, label: email },
        changes: {
          roleId: { after: member.roleId },
          status: { after: member.status },
          ...(member.externalId ? { externalId: { after: member.externalId } } : {}),
        },
        names: { [member.id]: member.name ?? email },
      });
      await publishMemberChanged(tx, account, member, entry.seq);
      return this.userIn(tx.manager, account.id, member);
    });
  }

  /** PUT /Users/:id: the attributes sent replace ours (`active` absent means true, as RFC 7643 defaults it). */
  replaceUser(accountId: string, actor: Actor, id: string, body: unknown, ifMatch: number | null): Promise<ScimUser> {
    const input = userInput(body, true);
    return this.changeUser(accountId, actor, id, ifMatch, () => ({
      ...input,
      active: input.active ?? true,
      externalId: input.externalId ?? null,
    }));
  }

  /** PATCH /Users/:id: RFC 7644 §3.5.2 operations (with Entra's quirks) applied to the user as SCIM shows it. */
  patchUser(accountId: string, actor: Actor, id: string, body: unknown, ifMatch: number | null): Promise<ScimUser> {
    const operations = patchOperations(body);
    return this.changeUser(accountId, actor, id, ifMatch, (current) => {
      let patched: ScimUser;
      try {
        patched = scimPatch(
          structuredClone(current) as unknown as ScimResource,
          operations as ScimPatchOperation[],
        ) as unknown as ScimUser;
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        throw new ScimError(
          400,
          `The PATCH operations cannot be applied: ${(error as Error).message}`,
          /Path|Target/i.test(name) ? 'invalidPath' : 'invalidValue',
        );
      }
      if (!patched || typeof patched !== 'object' || Array.isArray(patched))
        throw new ScimError(400, 'The PATCH operations do not leave a SCIM User', 'invalidValue');
      const change = userInput({ ...patched, schemas: [USER_SCHEMA] }, false);
      // The work email is the userName: a PATCH that moves it is a userName change (refused below).
      const emails = Array.isArray(patched.emails)
        ? (patched.emails as { value?: unknown; type?: unknown; primary?: unknown }[])
        : [];
      const work = emails.find((e) => e?.type === 'work') ?? emails.find((e) => e?.primary === true) ?? emails[0];
      const address = typeof work?.value === 'string' ? work.value.trim().toLowerCase() : undefined;
      if (address && address !== current.userName && (change.userName ?? current.userName) === current.userName)
        change.userName = address;
      return {
        ...change,
        name: patchedName(current, patched),
        active: truthy(patched.active),
        externalId: typeof patched.externalId === 'string' ? patched.externalId : null,
      };
    });
  }

  /** DELETE /Users/:id: the membership ends (sessions first, like a revocation) and is removed. */
  async deleteUser(accountId: string, actor: Actor, id: string, ifMatch: number | null): Promise<void> {
    await this.mutations.run(accountId, actor, async (context) => {
      const { tx, account } = context;
      const member = await memberIn(tx.manager, account.id, id);
      checkIfMatch(member, ifMatch);
      this.assertRemovable(account, member, 'deleted');
      const ended = await this.endSessions(context, member);
      await tx.manager.getRepository(MemberEntity).delete({ id: member.id });
      const entry = await context.log({
        action: 'user.deleted',
        target: { type: 'member', id: member.id, label: member.email },
        changes: { status: { before: member.status, after: null }, sessionsEnded: ended.length },
        names: { [member.id]: member.name || member.email },
      });
      if (ended.length) tx.publish(sessionsRevoked(account.id, ended, 'deprovisioned', entry.seq));
      tx.publish(memberRemoved(account.id, member, entry.seq));
    });
  }

  private changeUser(
    accountId: string,
    actor: Actor,
    id: string,
    ifMatch: number | null,
    desired: (current: ScimUser) => UserChange,
  ): Promise<ScimUser> {
    return this.mutations.run(accountId, actor, async (context) => {
      const { tx, account } = context;
      const member = await memberIn(tx.manager, account.id, id);
      checkIfMatch(member, ifMatch);
      const current = await this.userIn(tx.manager, account.id, member);
      const change = desired(current);
      if (change.userName !== undefined && change.userName !== member.email) {
        throw new ScimError(
          400,
          `userName is the member's email (${member.email}) and cannot change; deprovision and provision the new address instead`,
          'mutability',
        );
      }
      const fields: Partial<MemberEntity> = {};
      const changes: Record<string, unknown> = {};
      if (change.externalId !== undefined && change.externalId !== member.externalId) {
        fields.externalId = change.externalId;
        changes['externalId'] = { before: member.externalId, after: change.externalId };
      }
      // A joined member's name is their person's (shared by every account they belong to): SCIM names only those who have not signed in yet.
      if (change.name && change.name !== member.name && !member.joinedAt) {
        fields.name = change.name;
        changes['name'] = { before: member.name, after: change.name };
      }
      if (Object.keys(fields).length) {
        Object.assign(member, fields);
        syncSortKeys(member);
        member.version += 1;
        await tx.manager
          .getRepository(MemberEntity)
          .update(
            { id: member.id },
            { ...fields, sortName: member.sortName, searchName: member.searchName, version: member.version },
          );
        const entry = await context.log({
          action: 'user.updated',
          target: { type: 'member', id: member.id, label: member.email },
          changes,
        });
        await publishMemberChanged(tx, account, member, entry.seq);
      }
      if (change.active === false && member.status !== 'revoked') await this.deprovision(context, member);
      if (change.active === true && member.status === 'revoked') await this.reprovision(context, member);
      return this.userIn(tx.manager, account.id, member);
    });
  }

  /** `active: false`: revoked, every session ended at once (live `me.revoked`, reason `deprovisioned`). */
  private async deprovision(context: MutationContext, member: MemberEntity): Promise<void> {
    const { tx, account } = context;
    this.assertRemovable(account, member, 'deprovisioned');
    const before = member.status;
    await changePermissions(tx.manager, member, { status: 'revoked' });
    const ended = await this.endSessions(context, member);
    const entry = await context.log({
      action: 'user.revoked',
      target: { type: 'member', id: member.id, label: member.email },
      changes: { status: { before, after: 'revoked' }, sessionsEnded: ended.length },
    });
    // The sessions first: their sockets close without waiting for the account room's read of the member.
    if (ended.length) tx.publish(sessionsRevoked(account.id, ended, 'deprovisioned', entry.seq));
    await publishMemberChanged(tx, account, member, entry.seq);
  }

  /** `active: true` on a revoked member: back, if a seat is free; to `invited` when they never signed in. */
  private async reprovision(context: MutationContext, member: MemberEntity): Promise<void> {
    const { tx, account } = context;
    await assertSeatsFor(tx.manager, account, { seats: 1, agents: member.agentAccess ? 1 : 0 });
    const after = member.joinedAt ? 'active' : 'invited';
    await changePermissions(tx.manager, member, { status: after, scimProvisioned: true });
    const entry = await context.log({
      action: 'user.reactivated',
      target: { type: 'member', id: member.id, label: member.email },
      changes: { status: { before: 'revoked', after } },
    });
    await publishMemberChanged(tx, account, member, entry.seq, 'reactivated');
  }

  /** Ends the member's sessions in this account and any invitation still open (its link stops working). */
  private async endSessions({ tx, account }: MutationContext, member: MemberEntity): Promise<string[]> {
    await tx.manager
      .getRepository(InvitationEntity)
      .update({ memberId: member.id, endedAt: IsNull() }, { endedAt: this.clock.now().toISOString() });
    return member.personId
      ? this.sessions.revoke(tx.manager, { personId: member.personId, accountId: account.id }, 'deprovisioned')
      : [];
  }

  /** The owner and the billing contact stay: SCIM answers 400 `mutability`, naming the transfer to make first. */
  private assertRemovable(account: AccountEntity, member: MemberEntity, verb: string): void {
    const violation = checkRemoval(
      { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId },
      { id: '' },
      member,
    );
    if (violation === 'OWNER_PROTECTED')
      throw new ScimError(
        400,
        `The account owner cannot be ${verb} by SCIM; transfer ownership in Rolecall first`,
        'mutability',
      );
    if (violation === 'BILLING_CONTACT_PROTECTED')
      throw new ScimError(
        400,
        `The billing contact cannot be ${verb} by SCIM; transfer the billing contact in Rolecall first`,
        'mutability',
      );
  }

  private async userIn(manager: EntityManager, accountId: string, member: MemberEntity): Promise<ScimUser> {
    return toScimUser(
      member,
      (await rolesById(manager, accountId, [member.roleId])).get(member.roleId) ?? null,
      this.baseUrl,
    );
  }

  // ---- Groups: the account's roles; members are their holders ----

  async listGroups(
    accountId: string,
    query: { filter?: string; startIndex?: string; count?: string; excludedAttributes?: string },
  ) {
    const { startIndex, count } = scimPaging(query);
    const withMembers = !/\bmembers\b/.test(query.excludedAttributes ?? '');
    return this.db.read(async (manager) => {
      let roles = await accountRoles(manager, accountId);
      if (query.filter) {
        const filter = parsedFilter(query.filter);
        if (filter.op !== 'eq' || filter.attrPath !== 'displayName' || typeof filter.compValue !== 'string') {
          throw new ScimError(400, 'Groups can be filtered by displayName eq "…" only', 'invalidFilter');
        }
        const wanted = filter.compValue.toLowerCase();
        roles = roles.filter((role) => role.name.toLowerCase() === wanted);
      }
      const page = roles.slice(startIndex - 1, startIndex - 1 + count);
      const resources = await Promise.all(
        page.map(async (role) =>
          toScimGroup(role, withMembers ? await holders(manager, accountId, role.id) : null, this.baseUrl),
        ),
      );
      return listResponse(resources, roles.length, startIndex);
    });
  }

  getGroup(accountId: string, id: string, excludedAttributes?: string) {
    return this.db.read(async (manager) => {
      const role = await roleIn(manager, accountId, id);
      const withMembers = !/\bmembers\b/.test(excludedAttributes ?? '');
      return toScimGroup(role, withMembers ? await holders(manager, accountId, role.id) : null, this.baseUrl);
    });
  }

  /**
   * PATCH /Groups/:id (Okta's and Entra's group push): `add` members gives them this role (one role
   * per member: the last write wins), `remove` moves them to the default role (Read only) if they
   * still hold this one, `replace` members makes the holders exactly the list.
   */
  patchGroup(accountId: string, actor: Actor, id: string, body: unknown) {
    const operations = patchOperations(body);
    return this.mutations.run(accountId, actor, async (context) => {
      const role = await roleIn(context.tx.manager, accountId, id);
      for (const operation of operations) {
        const op = operation.op;
        const path = operation.path ?? '';
        const single = /^members\[value eq "([^"]+)"\]$/i.exec(path);
        if (path && !single && path.toLowerCase() !== 'members') {
          if (path.toLowerCase() === 'displayname' && operation.value === role.name) continue;
          throw new ScimError(
            400,
            `Only a group's members can change (its name is the role's, set in Rolecall): ${path}`,
            'mutability',
          );
        }
        if (!path) {
          const value = operation.value as { members?: unknown; displayName?: unknown } | undefined;
          if (value?.displayName !== undefined && value.displayName !== role.name)
            throw new ScimError(400, "A group's displayName is its role's name, set in Rolecall", 'mutability');
          if (value?.members !== undefined)
            await this.setHolders(context, role, memberIds(value.members), op === 'add' ? 'add' : 'replace');
          continue;
        }
        const ids = single ? [single[1]!] : memberIds(operation.value);
        if (op === 'add') await this.setHolders(context, role, ids, 'add');
        else if (op === 'replace') await this.setHolders(context, role, ids, 'replace');
        else await this.setHolders(context, role, single || operation.value !== undefined ? ids : null, 'remove');
      }
      return toScimGroup(role, await holders(context.tx.manager, accountId, role.id), this.baseUrl);
    });
  }

  /** PUT /Groups/:id: the members sent become the holders. */
  replaceGroup(accountId: string, actor: Actor, id: string, body: unknown) {
    const value = body as { displayName?: unknown; members?: unknown } | null;
    return this.mutations.run(accountId, actor, async (context) => {
      const role = await roleIn(context.tx.manager, accountId, id);
      if (value?.displayName !== undefined && value.displayName !== role.name)
        throw new ScimError(400, "A group's displayName is its role's name, set in Rolecall", 'mutability');
      await this.setHolders(context, role, memberIds(value?.members ?? []), 'replace');
      return toScimGroup(role, await holders(context.tx.manager, accountId, role.id), this.baseUrl);
    });
  }

  /** `ids: null` with `remove`: every holder. */
  private async setHolders(
    context: MutationContext,
    role: RoleEntity,
    ids: string[] | null,
    mode: 'add' | 'remove' | 'replace',
  ): Promise<void> {
    const { tx, account } = context;
    const current = (await holders(tx.manager, account.id, role.id)).map((m) => m.id);
    const wanted = new Set(ids ?? []);
    const toAdd = mode === 'remove' ? [] : [...wanted].filter((id) => !current.includes(id));
    const toRemove =
      mode === 'add'
        ? []
        : mode === 'remove'
          ? ids === null
            ? current
            : current.filter((id) => wanted.has(id))
          : current.filter((id) => !wanted.has(id));
    await this.assignRole(context, toAdd, role);
    if (toRemove.length === 0) return;
    await this.assignRole(context, toRemove, await roleIn(tx.manager, account.id, DEFAULT_ROLE_ID));
  }

  /**
   * Moves the members (`ids`) to `role`, one activity entry each, then publishes them after the last
   * write in one read (an identity provider's group push can move hundreds in one request, under the
   * account lock). Members who hold it already are left alone.
   */
  private async assignRole(context: MutationContext, ids: readonly string[], role: RoleEntity): Promise<void> {
    const { tx, account } = context;
    const moved: { member: MemberEntity; seq: number }[] = [];
    for (const id of ids) {
      const member = await memberIn(tx.manager, account.id, id, 'invalidValue');
      if (member.roleId !== role.id) moved.push({ member, seq: await this.moveToRole(context, member, role) });
    }
    await publishMembersChanged(tx, account, moved, { reason: 'role_changed', role });
  }

  /** One member to `role` (the owner's and the billing contact's rules checked), logged; returns the entry's seq. */
  private async moveToRole(context: MutationContext, member: MemberEntity, role: RoleEntity): Promise<number> {
    const { tx, account } = context;
    if (
      checkRoleChange(
        { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId },
        member,
        role.id,
      )
    ) {
      throw new ScimError(
        400,
        'The account owner always holds the Admin role; transfer ownership in Rolecall first',
        'mutability',
      );
    }
    const before = member.roleId;
    await changePermissions(tx.manager, member, { roleId: role.id });
    const entry = await context.log({
      action: 'user.role_changed',
      target: { type: 'member', id: member.id, label: member.email },
      changes: { roleId: { before, after: role.id }, role: { after: role.name } },
    });
    return entry.seq;
  }
}

// ---- parsing what the identity provider sends ----

function parsedFilter(raw: string): Filter {
  try {
    return parseFilter(raw);
  } catch (error) {
    throw new ScimError(400, `The filter cannot be read: ${(error as Error).message}`, 'invalidFilter');
  }
}

type Where = { andWhere(sql: string, params?: Record<string, unknown>): unknown };

/** `userName eq`, `externalId eq`, `id eq`, `emails.value eq`, `emails[type eq "work"].value eq`, joined by `and`. */
function applyUserFilter(q: Where, filter: Filter, n = { i: 0 }): void {
  if (filter.op === 'and') {
    for (const part of filter.filters) applyUserFilter(q, part, n);
    return;
  }
  if (filter.op === '[]' && filter.attrPath.toLowerCase() === 'emails') {
    // Every address Rolecall knows is the member's work email.
    const inner = filter.valFilter;
    if (inner.op === 'eq' && inner.attrPath.toLowerCase() === 'type') {
      if (String(inner.compValue).toLowerCase() !== 'work') q.andWhere('1 = 0');
      return;
    }
    if (inner.op === 'eq' && inner.attrPath.toLowerCase() === 'value')
      return applyUserFilter(q, { ...inner, attrPath: 'emails.value' }, n);
  }
  if (filter.op === 'eq' && (typeof filter.compValue === 'string' || typeof filter.compValue === 'number')) {
    const key = `f${n.i++}`;
    const value = String(filter.compValue);
    switch (filter.attrPath.toLowerCase()) {
      case 'username':
      case 'emails.value':
      case 'emails':
        q.andWhere(`m.email = :${key}`, { [key]: value.trim().toLowerCase() });
        return;
      case 'externalid':
        q.andWhere(`m.external_id = :${key}`, { [key]: value });
        return;
      case 'id':
        q.andWhere(`m.id = :${key}`, { [key]: value });
        return;
    }
  }
  throw new ScimError(
    400,
    'Users can be filtered by userName, externalId, id or emails[type eq "work"].value with eq (and "and")',
    'invalidFilter',
  );
}

/** Entra sends `"Replace"`/`"Add"` and booleans as `"True"`/`"False"`: normalised before applying. */
function patchOperations(body: unknown): { op: 'add' | 'remove' | 'replace'; path?: string; value?: unknown }[] {
  const operations = (body as { Operations?: unknown } | null)?.Operations;
  if (!Array.isArray(operations) || operations.length === 0 || operations.length > 100) {
    throw new ScimError(400, 'A PATCH needs "Operations": 1 to 100 operations', 'invalidSyntax');
  }
  return operations.map((operation: unknown) => {
    const { op, path, value } = (operation ?? {}) as { op?: unknown; path?: unknown; value?: unknown };
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name !== 'add' && name !== 'remove' && name !== 'replace')
      throw new ScimError(400, `Unknown PATCH op ${JSON.stringify(op)}`, 'invalidSyntax');
    if (path !== undefined && (typeof path !== 'string' || path.length > 300))
      throw new ScimError(400, 'A PATCH path must be a string', 'invalidPath');
    // RFC 7644 §3.5.2: add and replace carry a value (without a path, an object of attributes);
    // remove names its target. Refused here, before any is applied: scim-patch returns undefined for
    // a path-less replace without a value, and `replace members` without one would empty a group.
    if (name === 'remove' && !path)
      throw new ScimError(400, 'A PATCH remove needs a "path" naming what to remove', 'noTarget');
    if (name !== 'remove' && value === undefined)
      throw new ScimError(400, `A PATCH ${name} needs a "value"`, 'invalidValue');
    if (name !== 'remove' && !path && (value === null || typeof value !== 'object' || Array.isArray(value)))
      throw new ScimError(
        400,
        `A PATCH ${name} without a "path" needs an object of attributes as its "value"`,
        'invalidValue',
      );
    return {
      op: name,
      ...(path !== undefined ? { path: path as string } : {}),
      ...(value !== undefined ? { value: booleanStrings(value) } : {}),
    };
  });
}

function booleanStrings(value: unknown): unknown {
  if (value === 'True' || value === 'true') return true;
  if (value === 'False' || value === 'false') return false;
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'active' ? booleanStrings(v) : v]));
  return value;
}

const truthy = (value: unknown): boolean => value === true || value === 'True' || value === 'true';

/** The user attributes Rolecall keeps, checked. `required`: a full resource (POST, PUT). */
function userInput(body: unknown, required: boolean): UserChange {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new ScimError(400, 'The body must be a SCIM User', 'invalidSyntax');
  const user = body as Record<string, unknown>;
  const change: UserChange = {};
  const userName = user['userName'];
  if (userName !== undefined || required) {
    if (typeof userName !== 'string' || !EMAIL.test(userName.trim()))
      throw new ScimError(400, 'userName must be the person’s email address', 'invalidValue');
    change.userName = userName.trim().toLowerCase();
  }
  const externalId = user['externalId'];
  if (externalId !== undefined && externalId !== null) {
    if (typeof externalId !== 'string' || externalId.length === 0 || externalId.length > 255)
      throw new ScimError(400, 'externalId must be a string of at most 255 characters', 'invalidValue');
    change.externalId = externalId;
  }
  const active = booleanStrings(user['active']);
  if (active !== undefined) {
    if (typeof active !== 'boolean') throw new ScimError(400, 'active must be true or false', 'invalidValue');
    change.active = active;
  }
  const name = user['name'] as { formatted?: unknown; givenName?: unknown; familyName?: unknown } | undefined;
  const display = user['displayName'];
  const composed =
    typeof display === 'string' && display.trim()
      ? display
      : typeof name?.formatted === 'string' && name.formatted.trim()
        ? name.formatted
        : [name?.givenName, name?.familyName].filter((part) => typeof part === 'string' && part.trim()).join(' ');
  const clean = String(composed ?? '')
    .replace(/\p{Cc}/gu, '')
    .trim()
    .slice(0, 100);
  if (clean) change.name = clean;
  return change;
}

/**
 * The name a PATCH asks for: the attribute it changed wins (Entra patches `name.givenName` alone and
 * leaves `displayName` as it was), `displayName` first, then `name.formatted`, then the given and family
 * names; undefined when none changed.
 */
function patchedName(current: ScimUser, patched: ScimUser): string | undefined {
  const clean = (value: unknown) =>
    typeof value === 'string'
      ? value
          .replace(/\p{Cc}/gu, '')
          .trim()
          .slice(0, 100)
      : '';
  const before = (current.name ?? {}) as Record<string, unknown>;
  const after = (patched.name ?? {}) as Record<string, unknown>;
  if (patched.displayName !== current.displayName) return clean(patched.displayName) || undefined;
  if (after['formatted'] !== before['formatted']) return clean(after['formatted']) || undefined;
  if (after['givenName'] !== before['givenName'] || after['familyName'] !== before['familyName']) {
    return (
      clean(
        [after['givenName'], after['familyName']].filter((part) => typeof part === 'string' && part.trim()).join(' '),
      ) || undefined
    );
  }
  return undefined;
}

function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item: unknown) => {
    const id = typeof item === 'string' ? item : (item as { value?: unknown } | null)?.value;
    if (typeof id !== 'string' || id.length > 64)
      throw new ScimError(400, 'Each member must be { "value": "<user id>" }', 'invalidValue');
    return id;
  });
}

/**
 * A change to what the member may do (revoked, back, another role): `fields` set on the member and
 * written with its version and permission-set version moved on (its sessions' `me.permissions` follow).
 */
async function changePermissions(
  manager: EntityManager,
  member: MemberEntity,
  fields: Partial<Pick<MemberEntity, 'status' | 'roleId' | 'scimProvisioned'>>,
): Promise<void> {
  Object.assign(member, fields);
  member.permissionsVersion += 1;
  member.version += 1;
  await manager
    .getRepository(MemberEntity)
    .update({ id: member.id }, { ...fields, permissionsVersion: member.permissionsVersion, version: member.version });
}

function checkIfMatch(member: MemberEntity, ifMatch: number | null): void {
  if (ifMatch !== null && ifMatch !== member.version)
    throw new ScimError(412, `The user changed since version ${ifMatch} (now W/"${member.version}")`, 'invalidVers');
}

// ---- reads ----

async function memberIn(
  manager: EntityManager,
  accountId: string,
  id: string,
  scimType?: 'invalidValue',
): Promise<MemberEntity> {
  const member = /^[0-9a-f-]{36}$/i.test(id)
    ? await manager.getRepository(MemberEntity).findOneBy({ accountId, id })
    : null;
  if (!member) throw new ScimError(scimType ? 400 : 404, `No user ${id} in this account`, scimType);
  return member;
}

async function accountRoles(manager: EntityManager, accountId: string): Promise<RoleEntity[]> {
  const roles = await manager.getRepository(RoleEntity).find({ where: [{ accountId: IsNull() }, { accountId }] });
  return roles.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

async function roleIn(manager: EntityManager, accountId: string, id: string): Promise<RoleEntity> {
  const role = /^[0-9a-f-]{36}$/i.test(id) ? await manager.getRepository(RoleEntity).findOneBy({ id }) : null;
  if (!role || (role.accountId !== null && role.accountId !== accountId))
    throw new ScimError(404, `No group ${id} in this account`);
  return role;
}

async function rolesById(manager: EntityManager, accountId: string, ids: string[]): Promise<Map<string, RoleEntity>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const roles = await manager.getRepository(RoleEntity).find({
    where: [
      { accountId: IsNull(), id: In(unique) },
      { accountId, id: In(unique) },
    ],
  });
  return new Map(roles.map((role) => [role.id, role]));
}

/** The role's holders who are not revoked (invited members hold their role from the start). */
function holders(
  manager: EntityManager,
  accountId: string,
  roleId: string,
): Promise<{ id: string; name: string | null; email: string }[]> {
  return manager
    .getRepository(MemberEntity)
    .createQueryBuilder('m')
    .select(['m.id', 'm.name', 'm.email'])
    .where("m.account_id = :accountId AND m.role_id = :roleId AND m.status <> 'revoked'", { accountId, roleId })
    .orderBy('m.created_at', 'ASC')
    .getMany();
}
