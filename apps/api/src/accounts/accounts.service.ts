import { Inject, Injectable } from '@nestjs/common';
import {
  ADMIN_ROLE_ID,
  type AccountDto,
  type AuthEnforcement,
  type EnforcementPreviewDto,
  type Plan,
} from '@rolecall/contracts';
import {
  allowsTeams,
  canEnforceSso,
  checkBillingTransfer,
  checkBillingTransferActor,
  checkOwnerOnly,
  checkOwnershipTransfer,
  checkSeats,
  planLimits,
  type RuleViolation,
} from '@rolecall/domain';
import type { EntityManager } from 'typeorm';
import { AccountMutations, type MutationContext } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { Clock } from '../common/clock.js';
import { DomainError, forbidden, notFound, validationFailed } from '../common/domain-error.js';
import { dryRunFailure } from '../common/dry-run.js';
import { versionMismatch } from '../common/if-match.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database } from '../database/database.service.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { SessionsService } from '../database/sessions.service.js';
import { enforcedIdentity, personsWithIdentity } from '../database/identities.js';
import { OidcClients } from '../infra/oidc-clients.js';
import { SecretBox } from '../common/secret-box.js';
import { RoleEntity } from '../database/entities/role.entity.js';
import { TeamEntity } from '../database/entities/team.entity.js';
import { AccountEntity } from '../database/entities/account.entity.js';
import { loadAccountDto, seatCount } from '../database/accounts.dto.js';
import { sessionsRevoked } from '../events/domain-events.js';
import { publishAccountChanged } from '../database/committed-events.js';

export interface AccountUpdate {
  name?: string | undefined;
  authEnforcement?: AuthEnforcement | undefined;
  require2fa?: boolean | undefined;
  teamsEnabled?: boolean | undefined;
}

export interface OktaConnection {
  issuer: string;
  clientId: string;
  /** Left out: keep the stored secret. */
  clientSecret?: string | undefined;
}

const PROVIDER_NAMES: Record<Exclude<AuthEnforcement, 'any'>, string> = {
  google: 'Google',
  microsoft: 'Microsoft',
  okta: 'Okta',
};

const RULE_MESSAGES: Record<RuleViolation, string> = {
  OWNER_PROTECTED: 'The account owner is protected',
  BILLING_CONTACT_PROTECTED: 'The billing contact is protected',
  SELF_ACTION_FORBIDDEN: 'That member already holds this role',
  FORBIDDEN: 'Only the account owner can do that',
  VALIDATION_FAILED: 'Choose an active member',
};

@Injectable()
export class AccountsService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SecretBox) private readonly secrets: SecretBox,
    @Inject(OidcClients) private readonly oidcClients: OidcClients,
  ) {}

  get(auth: RequestAuth): Promise<AccountDto> {
    return this.db.read(async (manager) =>
      loadAccountDto(manager, await manager.getRepository(AccountEntity).findOneByOrFail({ id: auth.account.id })),
    );
  }

  /**
   * Runs an account change: first who may do it (`allowed`, so a refused caller never sees the
   * account in a 412), then `If-Match` against the account's version, then the change.
   */
  private change<T>(
    auth: RequestAuth,
    actor: Actor,
    ifMatch: number,
    work: (context: MutationContext) => Promise<T>,
    allowed: (account: AccountEntity) => RuleViolation | null = () => null,
  ): Promise<T> {
    return this.mutations.run(auth, actor, async (context) => {
      const violation = allowed(context.account);
      if (violation === 'FORBIDDEN') throw forbidden(RULE_MESSAGES.FORBIDDEN);
      if (context.account.version !== ifMatch)
        throw versionMismatch(await loadAccountDto(context.tx.manager, context.account));
      return work(context);
    });
  }

  /** An account change only the owner may make (plan, validation, ownership transfer). */
  private ownerChange<T>(
    auth: RequestAuth,
    actor: Actor,
    ifMatch: number,
    work: (context: MutationContext) => Promise<T>,
  ): Promise<T> {
    return this.change(auth, actor, ifMatch, work, (account) => checkOwnerOnly(this.facts(account), auth.member));
  }

  /** One activity entry about the account itself, announced as `account.changed` once committed. */
  private async logAccountChange(
    { tx, account, log }: Pick<MutationContext, 'tx' | 'account' | 'log'>,
    action: 'account.updated' | 'account.plan_changed' | 'account.validated',
    changes: Record<string, unknown>,
  ): Promise<{ seq: number }> {
    const entry = await log({ action, target: { type: 'account', id: account.id, label: account.name }, changes });
    await publishAccountChanged(tx, account.id, entry.seq);
    return entry;
  }

  private async saveAccount(
    manager: EntityManager,
    account: AccountEntity,
    fields: Partial<AccountEntity>,
  ): Promise<void> {
    Object.assign(account, fields, { version: account.version + 1 });
    await manager.getRepository(AccountEntity).update({ id: account.id }, { ...fields, version: account.version });
  }

  /**
   * Name, SSO enforcement, required 2FA, Talk teams. Enforcing a provider needs the plan and the
   * provider set up, and at once ends every session in the account not made through it, except the
   * owner's (break-glass). `dryRun` checks the change and answers who would be locked out instead.
   */
  async update(
    auth: RequestAuth,
    actor: Actor,
    ifMatch: number,
    change: AccountUpdate,
    dryRun = false,
  ): Promise<AccountDto | EnforcementPreviewDto> {
    return this.change(auth, actor, ifMatch, async ({ tx, account, log }) => {
      const fields: Partial<AccountEntity> = {};
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      const set = <K extends keyof AccountUpdate & keyof AccountEntity>(
        key: K,
        value: AccountEntity[K] | undefined,
      ) => {
        if (value === undefined || value === account[key]) return;
        changes[key] = { before: account[key], after: value };
        fields[key] = value;
      };
      if (change.authEnforcement !== undefined && !canEnforceSso(account.plan, change.authEnforcement)) {
        throw new DomainError(
          'PLAN_FEATURE_UNAVAILABLE',
          `The ${account.plan} plan cannot enforce ${change.authEnforcement} sign-in`,
        );
      }
      if (change.teamsEnabled && !allowsTeams(account.plan)) {
        throw new DomainError('PLAN_FEATURE_UNAVAILABLE', `The ${account.plan} plan has no Talk teams`);
      }
      const enforcement = change.authEnforcement;
      const notSetUp =
        enforcement &&
        enforcement !== 'any' &&
        enforcement !== account.authEnforcement &&
        !this.providerSetUp(account, enforcement)
          ? new DomainError(
              'CONFLICT',
              `${PROVIDER_NAMES[enforcement]} sign-in is not set up${enforcement === 'okta' ? ' for this account: connect Okta first' : ' on this server'}`,
              { provider: enforcement },
            )
          : null;
      // A dry run answers 200 with the refusal inside (issue 15); the real request answers it with 409.
      if (dryRun)
        return {
          lockedOut: enforcement ? await this.lockedOut(tx.manager, account, enforcement) : [],
          wouldFail: notSetUp ? dryRunFailure(notSetUp) : null,
        };
      if (notSetUp) throw notSetUp;
      set('name', change.name);
      set('authEnforcement', change.authEnforcement);
      set('require2fa', change.require2fa);
      set('teamsEnabled', change.teamsEnabled);
      if (Object.keys(fields).length === 0) return loadAccountDto(tx.manager, account);
      await this.saveAccount(tx.manager, account, fields);
      let ended: string[] = [];
      if (fields.authEnforcement && fields.authEnforcement !== 'any') {
        const owner = await tx.manager.getRepository(MemberEntity).findOneBy({ id: account.ownerMemberId });
        ended = await this.sessions.revoke(
          tx.manager,
          { accountId: account.id, authMethodNot: fields.authEnforcement, personIdNot: owner?.personId ?? null },
          'sso_enforced',
        );
      }
      const entry = await this.logAccountChange(
        { tx, account, log },
        'account.updated',
        ended.length ? { ...changes, sessionsEnded: ended.length } : changes,
      );
      if (ended.length) tx.publish(sessionsRevoked(account.id, ended, 'sso_enforced', entry.seq));
      return loadAccountDto(tx.manager, account);
    });
  }

  /** Whether `provider` can be used by this account: the server's Google/Microsoft client, or the account's Okta connection. */
  private providerSetUp(account: AccountEntity, provider: Exclude<AuthEnforcement, 'any'>): boolean {
    if (provider !== 'okta') return this.config.sso[provider] !== null;
    return Boolean(account.oktaIssuer && account.oktaClientId && account.oktaSecretEnc);
  }

  /**
   * Active members who have no identity of `provider` (for Okta: from the account's issuer), so a
   * password would be all they have — minus the owner when they have 2FA (break-glass). Invited
   * members are not listed: they have nothing to lose and join through the provider.
   */
  private async lockedOut(
    manager: EntityManager,
    account: AccountEntity,
    provider: AuthEnforcement,
  ): Promise<EnforcementPreviewDto['lockedOut']> {
    const match = enforcedIdentity({ authEnforcement: provider, oktaIssuer: account.oktaIssuer });
    if (!match) return [];
    const members = await manager
      .getRepository(MemberEntity)
      .find({ where: { accountId: account.id, status: 'active' }, order: { sortName: 'ASC', id: 'ASC' } });
    const personIds = members.map((m) => m.personId).filter((id): id is string => id !== null);
    const linked = await personsWithIdentity(manager, personIds, match);
    const owner = members.find((m) => m.id === account.ownerMemberId);
    const ownerPerson = owner?.personId
      ? await manager.getRepository(PersonEntity).findOneBy({ id: owner.personId })
      : null;
    return members
      .filter((m) => !(m.personId && linked.has(m.personId)))
      .filter((m) => !(m.id === account.ownerMemberId && ownerPerson?.totpSecret))
      .map((m) => ({ id: m.id, name: m.name, email: m.email }));
  }

  /**
   * Enterprise only: the account's Okta connection (issuer, client id, client secret encrypted at
   * rest with the account id bound in). The activity entry never holds the secret.
   */
  async setOkta(auth: RequestAuth, actor: Actor, ifMatch: number, connection: OktaConnection): Promise<AccountDto> {
    return this.change(auth, actor, ifMatch, async ({ tx, account, log }) => {
      if (account.plan !== 'enterprise')
        throw new DomainError(
          'PLAN_FEATURE_UNAVAILABLE',
          `The ${account.plan} plan cannot connect Okta (Enterprise only)`,
        );
      if (!this.oidcClients.issuerAllowed(connection.issuer))
        throw validationFailed({ issuer: ['Use an https:// issuer URL'] });
      if (!connection.clientSecret && !account.oktaSecretEnc) throw validationFailed({ clientSecret: ['Required'] });
      const fields: Partial<AccountEntity> = {};
      const changes: Record<string, unknown> = {};
      if (connection.issuer !== account.oktaIssuer) {
        changes['oktaIssuer'] = { before: account.oktaIssuer, after: connection.issuer };
        fields.oktaIssuer = connection.issuer;
      }
      if (connection.clientId !== account.oktaClientId) {
        changes['oktaClientId'] = { before: account.oktaClientId, after: connection.clientId };
        fields.oktaClientId = connection.clientId;
      }
      if (connection.clientSecret) {
        changes['oktaClientSecret'] = { changed: true };
        fields.oktaSecretEnc = this.secrets.seal(connection.clientSecret, account.id);
      }
      if (Object.keys(fields).length === 0) return loadAccountDto(tx.manager, account);
      await this.saveAccount(tx.manager, account, fields);
      await this.logAccountChange({ tx, account, log }, 'account.updated', changes);
      return loadAccountDto(tx.manager, account);
    });
  }

  /** Owner only; refused when the new plan is below current usage. */
  async changePlan(auth: RequestAuth, actor: Actor, ifMatch: number, plan: Plan): Promise<AccountDto> {
    return this.ownerChange(auth, actor, ifMatch, async ({ tx, account, log }) => {
      if (plan === account.plan) return loadAccountDto(tx.manager, account);
      const usage = await seatCount(tx.manager, account.id);
      const check = checkSeats(plan, usage);
      if (!check.ok) {
        throw new DomainError(
          check.code,
          `The ${plan} plan allows ${check.limit} ${check.code === 'SEAT_LIMIT_REACHED' ? 'seats' : 'agent seats'}; ${check.code === 'SEAT_LIMIT_REACHED' ? usage.used : usage.agents} are in use`,
          { limit: check.limit, used: check.code === 'SEAT_LIMIT_REACHED' ? usage.used : usage.agents },
        );
      }
      const limits = planLimits(plan);
      const teams = await tx.manager.getRepository(TeamEntity).countBy({ accountId: account.id });
      if (teams > limits.teams)
        throw new DomainError(
          'CONFLICT',
          `The ${plan} plan allows ${limits.teams} Talk teams; delete ${teams - limits.teams} first`,
          { limit: limits.teams, used: teams },
        );
      const customRoles = await tx.manager.getRepository(RoleEntity).countBy({ accountId: account.id });
      if (limits.customRoles !== null && customRoles > limits.customRoles) {
        throw new DomainError(
          'CONFLICT',
          `The ${plan} plan allows ${limits.customRoles} custom roles; delete ${customRoles - limits.customRoles} first`,
          { limit: limits.customRoles, used: customRoles },
        );
      }
      if (!canEnforceSso(plan, account.authEnforcement)) {
        throw new DomainError(
          'CONFLICT',
          `The ${plan} plan cannot enforce ${account.authEnforcement} sign-in; turn enforcement off first`,
        );
      }
      const fields: Partial<AccountEntity> = { plan };
      if (!allowsTeams(plan) && account.teamsEnabled) fields.teamsEnabled = false;
      const before = account.plan;
      await this.saveAccount(tx.manager, account, fields);
      await this.logAccountChange({ tx, account, log }, 'account.plan_changed', { plan: { before, after: plan } });
      return loadAccountDto(tx.manager, account);
    });
  }

  /** Owner only: records the owner's phone (E.164) and marks the account validated. */
  async validate(auth: RequestAuth, actor: Actor, ifMatch: number, phone: string): Promise<AccountDto> {
    return this.ownerChange(auth, actor, ifMatch, async ({ tx, account, log }) => {
      await this.saveAccount(tx.manager, account, {
        validatedPhone: phone,
        validatedAt: this.clock.now().toISOString(),
      });
      const masked = `${phone.slice(0, 3)}…${phone.slice(-2)}`;
      await this.logAccountChange({ tx, account, log }, 'account.validated', { phone: { after: masked } });
      return loadAccountDto(tx.manager, account);
    });
  }

  /** Owner only, to another active member, who becomes Admin; the previous owner stays Admin. */
  async transferOwnership(auth: RequestAuth, actor: Actor, ifMatch: number, memberId: string): Promise<AccountDto> {
    return this.ownerChange(auth, actor, ifMatch, async ({ tx, account, log }) => {
      const [actorMember, target] = await this.membersFor(tx.manager, account.id, auth.member.id, memberId);
      this.assertRule(checkOwnershipTransfer(this.facts(account), actorMember, target));
      const changedPermissions: string[] = [];
      if (target.roleId !== ADMIN_ROLE_ID) {
        await tx.manager
          .getRepository(MemberEntity)
          .update(
            { id: target.id },
            { roleId: ADMIN_ROLE_ID, permissionsVersion: target.permissionsVersion + 1, version: target.version + 1 },
          );
        changedPermissions.push(target.id);
      } else {
        await tx.manager.getRepository(MemberEntity).update({ id: target.id }, { version: target.version + 1 });
      }
      await tx.manager.getRepository(MemberEntity).update({ id: actorMember.id }, { version: actorMember.version + 1 });
      const before = account.ownerMemberId;
      await this.saveAccount(tx.manager, account, { ownerMemberId: target.id });
      const entry = await log({
        action: 'ownership.transferred',
        target: { type: 'member', id: target.id, label: target.email },
        changes: {
          ownerId: { before, after: target.id },
          ...(changedPermissions.length ? { roleId: { before: target.roleId, after: ADMIN_ROLE_ID } } : {}),
        },
      });
      await publishAccountChanged(tx, account.id, entry.seq, {
        memberIds: [actorMember.id, target.id],
        permissionMemberIds: changedPermissions,
        reason: 'ownership_transferred',
      });
      return loadAccountDto(tx.manager, account);
    });
  }

  /** By the owner, or by the billing contact if they hold Admin; to another active member. */
  async transferBilling(auth: RequestAuth, actor: Actor, ifMatch: number, memberId: string): Promise<AccountDto> {
    return this.change(
      auth,
      actor,
      ifMatch,
      async ({ tx, account, log }) => {
        const [actorMember, target] = await this.membersFor(tx.manager, account.id, auth.member.id, memberId);
        const violation = checkBillingTransfer(this.facts(account), actorMember, target);
        if (violation === 'FORBIDDEN')
          throw forbidden('Only the owner, or a billing contact who is an Admin, can transfer the billing contact');
        if (violation === 'SELF_ACTION_FORBIDDEN')
          throw new DomainError('SELF_ACTION_FORBIDDEN', 'That member is already the billing contact');
        this.assertRule(violation);
        const previous = await tx.manager
          .getRepository(MemberEntity)
          .findOneByOrFail({ id: account.billingContactMemberId });
        for (const member of [previous, target]) {
          await tx.manager
            .getRepository(MemberEntity)
            .update(
              { id: member.id },
              { permissionsVersion: member.permissionsVersion + 1, version: member.version + 1 },
            );
        }
        await this.saveAccount(tx.manager, account, { billingContactMemberId: target.id });
        const entry = await log({
          action: 'billing.transferred',
          target: { type: 'member', id: target.id, label: target.email },
          changes: { billingContactId: { before: previous.id, after: target.id } },
        });
        await publishAccountChanged(tx, account.id, entry.seq, {
          memberIds: [previous.id, target.id],
          permissionMemberIds: [previous.id, target.id],
          reason: 'billing_transferred',
        });
        return loadAccountDto(tx.manager, account);
      },
      (account) => checkBillingTransferActor(this.facts(account), auth.member),
    );
  }

  private async membersFor(
    manager: EntityManager,
    accountId: string,
    actorId: string,
    targetId: string,
  ): Promise<[MemberEntity, MemberEntity]> {
    const repo = manager.getRepository(MemberEntity);
    const [actorMember, target] = await Promise.all([
      repo.findOneBy({ id: actorId, accountId }),
      repo.findOneBy({ id: targetId, accountId }),
    ]);
    if (!actorMember) throw forbidden();
    if (!target) throw notFound('Member');
    return [actorMember, target];
  }

  private facts(account: AccountEntity) {
    return { ownerId: account.ownerMemberId, billingContactId: account.billingContactMemberId };
  }

  private assertRule(violation: RuleViolation | null): void {
    if (!violation) return;
    if (violation === 'VALIDATION_FAILED') throw validationFailed({ memberId: ['Choose an active member'] });
    throw new DomainError(violation, RULE_MESSAGES[violation]);
  }
}
