import { Inject, Injectable, Logger } from '@nestjs/common';
import { emailSchema, nameSchema, type SsoProvider, type SsoProvidersDto } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { IsNull, LessThan, type EntityManager } from 'typeorm';
import { AccountEntity } from '../database/entities/account.entity.js';
import { ActivityService, type Actor } from '../database/activity.service.js';
import { RateLimitService } from '../infra/rate-limit.service.js';
import { Clock } from '../common/clock.js';
import { notFound } from '../common/domain-error.js';
import { newToken, sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { Database, type Tx } from '../database/database.service.js';
import { InvitationEntity } from '../database/entities/invitation.entity.js';
import { MemberEntity } from '../database/entities/member.entity.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { MailboxProofs } from '../database/mailbox-proofs.js';
import { insertPerson, joinAsPerson } from '../database/persons.js';
import { SessionsService } from '../database/sessions.service.js';
import { IdentityEntity } from '../database/entities/identity.entity.js';
import { failureOf, OidcClients, SsoFailure, type ProviderSetup } from '../infra/oidc-clients.js';
import { SecretBox } from '../common/secret-box.js';
import { SsoFlowEntity } from '../database/entities/sso-flow.entity.js';
import { amrShowsMfa, emailIsVerified, offeredProviders } from '../common/sso.rules.js';
import { sessionSignedIn } from '../events/domain-events.js';
import { publishMemberChanged } from '../database/committed-member.js';

type Meta = Pick<Actor, 'ip' | 'userAgent'>;

/** Between start and callback; the browser must come back within it. */
export const FLOW_TTL_MS = 10 * 60 * 1000;
const SCOPE = 'openid email profile';
const PROVIDER_NAMES: Record<SsoProvider, string> = { google: 'Google', microsoft: 'Microsoft', okta: 'Okta' };
/** The browser-binding cookie value: 256 random bits, base64url. */
const BINDING = /^[A-Za-z0-9_-]{43}$/;

/** The ID token claims Rolecall reads. */
interface IdClaims {
  iss: string;
  sub: string;
  email?: unknown;
  email_verified?: unknown;
  xms_edov?: unknown;
  name?: unknown;
  amr?: unknown;
}

export interface StartResult {
  /** The provider's authorization URL (302). */
  readonly location: string;
  /** The browser-binding value to keep in the `rolecall_sso` cookie. */
  readonly binding: string;
}

export interface FinishResult {
  readonly token: string;
  readonly next: string;
}

/**
 * Sign-in through OpenID Connect (openid-client 6) as a relying party: authorization code flow with
 * PKCE (S256), `state` and `nonce`; the ID token's signature (JWKS), issuer, audience, expiry and
 * nonce are checked by openid-client. The flow's secrets stay in `sso_flows` (hashed state, 10
 * minutes, single use) and the flow is bound to the browser that started it by a cookie.
 *
 * A person is found by a linked identity (provider + issuer + subject), else by a verified email
 * that is an invited or active member of the account — never signed up silently. An invited member
 * accepts the invitation on the way. The session's `auth_method` is the provider and its `mfa` flag
 * says whether the ID token's `amr` shows a second factor.
 */
@Injectable()
export class SsoService {
  private readonly logger = new Logger(SsoService.name);

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(ActivityService) private readonly activity: ActivityService,
    @Inject(RateLimitService) private readonly limits: RateLimitService,
    @Inject(SecretBox) private readonly secrets: SecretBox,
    @Inject(OidcClients) private readonly clients: OidcClients,
    @Inject(MailboxProofs) private readonly proofs: MailboxProofs,
  ) {}

  /** What the sign-in page can offer: the configured providers usable by the account (only the enforced one under enforcement). */
  async providers(accountId: string | undefined): Promise<SsoProvidersDto> {
    const account = accountId
      ? await this.db.read((m) => m.getRepository(AccountEntity).findOneBy({ id: accountId }))
      : null;
    if (accountId && !account) throw notFound('Account');
    const configured = (['google', 'microsoft', 'okta'] as const).filter((provider) => this.isSetUp(provider, account));
    const offered = offeredProviders(account?.authEnforcement ?? 'any', configured);
    return {
      providers: offered.map((id) => ({
        id,
        name: PROVIDER_NAMES[id],
        startUrl: `/api/v1/auth/sso/${id}/start${account ? `?account=${account.id}` : ''}`,
      })),
      authEnforcement: account?.authEnforcement ?? null,
    };
  }

  /** Whether the account can use the provider: the server's Google/Microsoft client, or the account's own Okta (Enterprise). */
  private isSetUp(provider: SsoProvider, account: AccountEntity | null): boolean {
    if (provider !== 'okta') return this.config.sso[provider] !== null;
    return Boolean(
      account &&
      account.plan === 'enterprise' &&
      account.oktaIssuer &&
      account.oktaClientId &&
      account.oktaSecretEnc &&
      this.clients.issuerAllowed(account.oktaIssuer),
    );
  }

  /** The provider's issuer and this app's client there (Okta's secret decrypted), or a refusal. */
  private setupFor(provider: SsoProvider, account: AccountEntity): ProviderSetup {
    if (!this.isSetUp(provider, account))
      throw new SsoFailure('PROVIDER_NOT_CONFIGURED', `${provider} is not set up for account ${account.id}`);
    if (provider !== 'okta') return { provider, ...this.config.sso[provider]! };
    let clientSecret: string;
    try {
      clientSecret = this.secrets.open(account.oktaSecretEnc!, account.id);
    } catch {
      throw new SsoFailure(
        'PROVIDER_NOT_CONFIGURED',
        `the Okta secret of account ${account.id} cannot be decrypted (another SECRETS_KEY?)`,
      );
    }
    return { provider, issuer: account.oktaIssuer!, clientId: account.oktaClientId!, clientSecret };
  }

  /** Records a flow and answers the provider's authorization URL. */
  async start(input: {
    provider: SsoProvider | undefined;
    accountId: string | undefined;
    next: string | undefined;
    binding: string | null;
    meta: Meta;
  }): Promise<StartResult> {
    try {
      await this.limits.consume('signInIp', input.meta.ip ?? 'unknown');
    } catch {
      throw new SsoFailure('RATE_LIMITED', `too many sign-ins from ${input.meta.ip ?? 'unknown'}`);
    }
    if (!input.provider) throw new SsoFailure('PROVIDER_NOT_CONFIGURED', 'unknown provider');
    if (!input.accountId) throw new SsoFailure('ACCOUNT_NOT_FOUND', 'no account given');
    const accountId = input.accountId;
    const account = await this.db.read((m) => m.getRepository(AccountEntity).findOneBy({ id: accountId }));
    if (!account) throw new SsoFailure('ACCOUNT_NOT_FOUND', `no account ${accountId}`);
    if (account.authEnforcement !== 'any' && account.authEnforcement !== input.provider) {
      throw new SsoFailure('PROVIDER_NOT_ALLOWED', `account enforces ${account.authEnforcement}`);
    }
    const setup = this.setupFor(input.provider, account);
    const config = await this.clients.configuration(setup);

    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const binding = input.binding && BINDING.test(input.binding) ? input.binding : newToken();
    const now = this.clock.now();
    await this.db.transaction(async ({ manager }) => {
      const flows = manager.getRepository(SsoFlowEntity);
      await flows.delete({ expiresAt: LessThan(now.toISOString()) });
      await flows.insert({
        id: randomUUID(),
        stateHash: sha256Hex(state),
        bindingHash: sha256Hex(binding),
        provider: setup.provider,
        accountId: account.id,
        nonce,
        codeVerifier,
        nextPath: input.next ?? '/',
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + FLOW_TTL_MS).toISOString(),
        usedAt: null,
      });
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.clients.redirectUri(setup.provider),
      scope: SCOPE,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { location: url.href, binding };
  }

  /**
   * The provider's redirect back: consumes the flow, exchanges the code, validates the ID token,
   * finds the member and makes the session. Any failure throws an `SsoFailure` and makes nothing.
   */
  async finish(input: {
    provider: SsoProvider | undefined;
    state: string | undefined;
    error: string | undefined;
    rawQuery: string;
    binding: string | null;
    meta: Meta;
  }): Promise<FinishResult> {
    if (!input.provider || !input.state) throw new SsoFailure('STATE_INVALID', 'no state or provider in the callback');
    const flow = await this.consumeFlow(input.provider, input.state, input.binding);
    try {
      if (input.error) throw new SsoFailure('PROVIDER_DENIED', `provider answered ${input.error}`);
      const account = await this.db.read((m) => m.getRepository(AccountEntity).findOneBy({ id: flow.accountId }));
      if (!account) throw new SsoFailure('ACCOUNT_NOT_FOUND', `account ${flow.accountId} is gone`);
      const setup = this.setupFor(flow.provider, account);
      const config = await this.clients.configuration(setup);
      const tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(`${this.clients.redirectUri(flow.provider)}?${input.rawQuery}`),
        {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: input.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        },
      );
      const idClaims = tokens.claims();
      if (!idClaims) throw new SsoFailure('TOKEN_INVALID', 'no ID token');
      const claims = await withUserInfo(config, tokens.access_token, idClaims as unknown as IdClaims, flow.provider);
      return await this.signIn(flow, claims, input.meta);
    } catch (error) {
      const failure = failureOf(error);
      failure.accountId = flow.accountId;
      throw failure;
    }
  }

  /**
   * Checks the flow is known, unused, of this provider, of this browser and fresh, then marks it
   * used: from here on, whatever happens, it cannot be used again. A callback from another browser
   * leaves the flow to its own browser.
   */
  private async consumeFlow(provider: SsoProvider, state: string, binding: string | null): Promise<SsoFlowEntity> {
    const now = this.clock.now().toISOString();
    return this.db.transaction(async ({ manager }) => {
      const flows = manager.getRepository(SsoFlowEntity);
      const flow = await flows.findOneBy({ stateHash: sha256Hex(state) });
      if (!flow) throw new SsoFailure('STATE_INVALID', 'unknown state');
      if (flow.usedAt) throw new SsoFailure('STATE_INVALID', 'state already used');
      if (flow.provider !== provider) {
        throw new SsoFailure('STATE_INVALID', `flow of ${flow.provider} came back to ${provider}`);
      }
      if (!binding || sha256Hex(binding) !== flow.bindingHash) {
        throw new SsoFailure('STATE_INVALID', 'flow started in another browser');
      }
      if (flow.expiresAt <= now) throw new SsoFailure('FLOW_EXPIRED', `flow expired at ${flow.expiresAt}`);
      // Conditional, so two callbacks racing with one state cannot both pass (PostgreSQL runs them in parallel).
      const used = await flows.update({ id: flow.id, usedAt: IsNull() }, { usedAt: now });
      if (used.affected === 0) throw new SsoFailure('STATE_INVALID', 'state already used');
      return flow;
    });
  }

  private async signIn(flow: SsoFlowEntity, claims: IdClaims, meta: Meta): Promise<FinishResult> {
    const provider = flow.provider;
    const email = typeof claims.email === 'string' ? emailSchema.safeParse(claims.email).data : undefined;
    return this.db.transaction(async (tx) => {
      const { manager } = tx;
      if (email) await this.db.lockMailbox(tx, email);
      const account = await this.db.lockAccount(tx, flow.accountId);
      const identities = manager.getRepository(IdentityEntity);
      const identity = await identities.findOneBy({ provider, issuer: claims.iss, subject: claims.sub });
      const found = identity
        ? await this.byIdentity(manager, account.id, identity)
        : await this.byEmail(manager, account.id, provider, claims, email);
      let { person } = found;
      let member = found.member;
      if (!member || member.status === 'revoked') {
        const who = identity ? `identity ${identity.id}` : email;
        throw new SsoFailure('NOT_A_MEMBER', `${who} is not an invited or active member of ${account.id}`);
      }
      const isOwner = account.ownerMemberId === member.id;
      if (account.authEnforcement !== 'any' && account.authEnforcement !== provider && !isOwner) {
        throw new SsoFailure('PROVIDER_NOT_ALLOWED', `account enforces ${account.authEnforcement}`);
      }
      const now = this.clock.now().toISOString();
      // The provider vouched for the email (byEmail checked it). While the person holding it is
      // unverified — somebody may have signed up with this address — that proof hands the person
      // to whoever signed in here: the identity is never linked to a squatter's login.
      if (person && !identity && !person.emailVerified) {
        await this.proofs.claim(tx, person, {
          via: provider,
          meta,
          locked: new Map([[account.id, account]]),
          passwordHash: null,
        });
      }
      const actor: Actor = { memberId: member.id, email: member.email, ...meta };
      // The acceptance's entry seq: its member.changed goes out after the identity is linked below.
      let acceptedSeq: number | null = null;
      if (member.status === 'invited') {
        ({
          person,
          member,
          seq: acceptedSeq,
        } = await this.acceptInvitation(tx, account, member, person, claims, actor, provider));
      }
      if (!person) throw new SsoFailure('INTERNAL', `member ${member.id} has no person`);

      let linked = false;
      if (identity) {
        await identities.update({ id: identity.id }, { lastUsedAt: now, email: email ?? identity.email });
      } else {
        await identities.insert({
          id: randomUUID(),
          personId: person.id,
          provider,
          issuer: claims.iss,
          subject: claims.sub,
          email: email ?? null,
          createdAt: now,
          lastUsedAt: now,
        });
        linked = true;
      }
      const mfa = amrShowsMfa(claims.amr);
      const { token, session } = await this.sessions.create(tx, {
        personId: person.id,
        accountId: account.id,
        authMethod: provider,
        mfa,
        ...meta,
      });
      const entry = await this.activity.append(tx, account, actor, {
        action: 'session.signed_in',
        target: { type: 'session', id: session.id, label: person.email },
        changes: { method: provider, mfa, ...(linked ? { identityLinked: true } : {}) },
      });
      tx.publish(sessionSignedIn(account.id, person.id, session.id, entry.seq));
      // Pushed as committed, after the last write of the member: an acceptance (with the identity it
      // linked), or a first link under enforcement, which turns `enforcedAuth` to `linked`.
      if (acceptedSeq !== null) await publishMemberChanged(tx, account, member, acceptedSeq, 'invitation_accepted');
      else if (linked && account.authEnforcement === provider)
        await publishMemberChanged(tx, account, member, entry.seq);
      return { token, next: flow.nextPath };
    });
  }

  /** A linked identity: its person, and that person's membership here (or an invitation to their email). */
  private async byIdentity(
    manager: EntityManager,
    accountId: string,
    identity: IdentityEntity,
  ): Promise<{ person: PersonEntity | null; member: MemberEntity | null }> {
    const person = await manager.getRepository(PersonEntity).findOneBy({ id: identity.personId });
    if (!person) return { person: null, member: null };
    const members = manager.getRepository(MemberEntity);
    const member =
      (await members.findOneBy({ accountId, personId: person.id })) ??
      (await members.findOneBy({ accountId, email: person.email, personId: IsNull() }));
    return { person, member };
  }

  /** No identity yet: a verified email that is a member (invited or active) of the account. */
  private async byEmail(
    manager: EntityManager,
    accountId: string,
    provider: SsoProvider,
    claims: IdClaims,
    email: string | undefined,
  ): Promise<{ person: PersonEntity | null; member: MemberEntity | null }> {
    if (!email) throw new SsoFailure('NOT_A_MEMBER', 'the ID token has no usable email');
    if (!emailIsVerified(provider, claims))
      throw new SsoFailure('EMAIL_UNVERIFIED', `${provider} did not verify ${email}`);
    const person = await manager.getRepository(PersonEntity).findOneBy({ email });
    const member = await manager.getRepository(MemberEntity).findOneBy({ accountId, email });
    if (member?.personId && person && member.personId !== person.id) return { person: null, member: null };
    return { person, member };
  }

  /**
   * Accepting an invitation through SSO: ends the invitation, makes the person if new (no password),
   * activates the member. Returns its entry's seq: the caller publishes the member once it is linked.
   */
  private async acceptInvitation(
    tx: Tx,
    account: AccountEntity,
    member: MemberEntity,
    existing: PersonEntity | null,
    claims: IdClaims,
    actor: Actor,
    provider: SsoProvider,
  ): Promise<{ person: PersonEntity; member: MemberEntity; seq: number }> {
    const { manager } = tx;
    const now = this.clock.now().toISOString();
    const ended = await manager
      .getRepository(InvitationEntity)
      .createQueryBuilder()
      .update()
      .set({ endedAt: now })
      .where('member_id = :memberId AND ended_at IS NULL AND expires_at > :now', { memberId: member.id, now })
      .execute();
    // A member SCIM provisioned has no invitation: the account's identity provider vouched for them.
    if (!ended.affected && !member.scimProvisioned)
      throw new SsoFailure('INVITATION_INVALID', `no live invitation for member ${member.id}`);
    let person = existing ?? (await manager.getRepository(PersonEntity).findOneBy({ email: member.email }));
    if (!person) {
      const claimed = nameSchema.safeParse(typeof claims.name === 'string' ? claims.name : '');
      // The provider vouched for the email (checked before): the new person starts verified.
      person = await insertPerson(manager, {
        email: member.email,
        name: claimed.success ? claimed.data : member.email.split('@')[0]!.slice(0, 100),
        passwordHash: null,
        emailVerified: true,
        now,
      });
    }
    await joinAsPerson(manager, member, person, now);
    const entry = await this.activity.append(tx, account, actor, {
      action: 'invitation.accepted',
      target: { type: 'member', id: member.id, label: member.email },
      changes: { status: { before: 'invited', after: 'active' }, via: provider },
    });
    return { person, member, seq: entry.seq };
  }

  logFailure(failure: SsoFailure): void {
    this.logger.warn(`SSO sign-in refused: ${failure.code} (${failure.detail})`);
  }

  logError(failure: SsoFailure): void {
    this.logger.error(`SSO sign-in failed: ${failure.detail}${failure.stack ? `\n${failure.stack}` : ''}`);
  }
}

/**
 * The claims to decide with: the ID token's, completed from the UserInfo endpoint when it lacks the
 * email, its verification or the name (issue 16 §1). OIDC Core §5.4 puts the `email` and `profile`
 * scopes' claims in UserInfo for the code flow; Google, Microsoft and Okta copy them into the ID token
 * too, but a conforming provider (oidc-provider's default) does not, and its members could not sign
 * in. UserInfo is asked with the access token over the provider's TLS; openid-client checks that its
 * `sub` equals the ID token's (a mismatch is `TOKEN_INVALID`). The ID token's own claims win: UserInfo
 * only fills what it left out. When the ID token already has a usable email, a failing UserInfo is
 * not fatal (a missing name falls back as before); without one the sign-in cannot be decided and
 * fails as `PROVIDER_UNAVAILABLE`.
 */
async function withUserInfo(
  config: oidc.Configuration,
  accessToken: string,
  claims: IdClaims,
  provider: SsoProvider,
): Promise<IdClaims> {
  const verifiedKnown =
    claims.email_verified !== undefined || (provider === 'microsoft' && claims.xms_edov !== undefined);
  if (typeof claims.email === 'string' && verifiedKnown && typeof claims.name === 'string') return claims;
  if (!config.serverMetadata().userinfo_endpoint) return claims;
  let info: Record<string, unknown>;
  try {
    info = await oidc.fetchUserInfo(config, accessToken, claims.sub);
  } catch (error) {
    // The one attribute a UserInfo answer is compared on is `sub`.
    if ((error as { code?: unknown }).code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
      throw new SsoFailure(
        'TOKEN_INVALID',
        `UserInfo answered for another subject than the ID token's (${claims.sub})`,
      );
    }
    if (typeof claims.email === 'string') return claims;
    throw new SsoFailure('PROVIDER_UNAVAILABLE', `UserInfo failed: ${(error as Error).message}`);
  }
  const filled: IdClaims = { ...claims };
  for (const key of ['email', 'email_verified', 'xms_edov', 'name'] as const) {
    if (filled[key] === undefined && info[key] !== undefined) filled[key] = info[key];
  }
  return filled;
}
