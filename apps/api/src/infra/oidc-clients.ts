import { Inject, Injectable } from '@nestjs/common';
import type { SsoErrorCode, SsoProvider } from '@rolecall/contracts';
import * as oidc from 'openid-client';
import { DomainError } from '../common/domain-error.js';
import { sha256Hex } from '../common/tokens.js';
import { APP_CONFIG, type AppConfig } from '../config.js';

/** One provider as this app is registered there: the issuer to discover and the client credentials. */
export interface ProviderSetup {
  readonly provider: SsoProvider;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A refused sign-in: the code goes to `/signin?sso_error=`, the detail only to the log. */
export class SsoFailure extends Error {
  /** The account of the flow, once known: the sign-in page shows that account's providers again. */
  accountId: string | null = null;

  constructor(
    readonly code: SsoErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'SsoFailure';
  }
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const TIMEOUT_SECONDS = 10;

/**
 * openid-client configurations (discovered metadata + this app's client), cached per issuer and
 * client for an hour so a sign-in costs no discovery round trip; a failed discovery is not cached.
 *
 * Microsoft's multi-tenant endpoint (`…/common/v2.0`) publishes the issuer
 * `https://login.microsoftonline.com/{tenantid}/v2.0`, while each ID token carries its own tenant's
 * issuer. openid-client 6 recognises discovery from `login.microsoftonline.com` and then expects
 * `iss` to be that template with the token's `tid` filled in — the issuer is still checked, per
 * tenant. Any tenant's users can therefore get a token; who may sign in is decided by Rolecall
 * (a linked identity, or a verified email of an invited or active member).
 */
@Injectable()
export class OidcClients {
  private readonly cache = new Map<string, { expires: number; config: Promise<oidc.Configuration> }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Where the provider sends the browser back: registered with each provider, built from `PUBLIC_URL` only. */
  redirectUri(provider: SsoProvider): string {
    return `${this.config.publicUrl}/api/v1/auth/sso/${provider}/callback`;
  }

  /** http:// issuers only with `SSO_ALLOW_HTTP=true` (the local development provider and tests). */
  issuerAllowed(issuer: string): boolean {
    const protocol = URL.canParse(issuer) ? new URL(issuer).protocol : null;
    return protocol === 'https:' || (protocol === 'http:' && this.config.sso.allowHttpIssuers);
  }

  async configuration(setup: ProviderSetup): Promise<oidc.Configuration> {
    if (!this.issuerAllowed(setup.issuer))
      throw new SsoFailure('PROVIDER_NOT_CONFIGURED', `issuer ${setup.issuer} is not https`);
    const key = [setup.issuer, setup.clientId, sha256Hex(setup.clientSecret)].join('\n');
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached && cached.expires > now) return cached.config;
    const config = oidc.discovery(
      new URL(setup.issuer),
      setup.clientId,
      { client_secret: setup.clientSecret },
      oidc.ClientSecretBasic(setup.clientSecret),
      {
        execute: [
          oidc.enableNonRepudiationChecks,
          ...(new URL(setup.issuer).protocol === 'http:' ? [oidc.allowInsecureRequests] : []),
        ],
        timeout: TIMEOUT_SECONDS,
      },
    );
    this.cache.set(key, { expires: now + DISCOVERY_TTL_MS, config });
    try {
      return await config;
    } catch (error) {
      this.cache.delete(key);
      throw new SsoFailure('PROVIDER_UNAVAILABLE', `discovery of ${setup.issuer} failed: ${describe(error)}`);
    }
  }
}

/** Turns an openid-client failure of the code exchange or ID-token validation into a sign-in error code. */
export function failureOf(error: unknown): SsoFailure {
  if (error instanceof SsoFailure) return error;
  if (error instanceof DomainError)
    return new SsoFailure(error.code === 'NOT_FOUND' ? 'ACCOUNT_NOT_FOUND' : 'INTERNAL', error.message);
  if (error instanceof oidc.AuthorizationResponseError)
    return new SsoFailure('PROVIDER_DENIED', `${error.error}: ${error.error_description ?? ''}`);
  if (error instanceof oidc.ResponseBodyError) {
    return new SsoFailure(
      error.error === 'invalid_grant' || error.error === 'invalid_client' ? 'CODE_REJECTED' : 'PROVIDER_UNAVAILABLE',
      `${error.status} ${error.error}: ${error.error_description ?? ''}`,
    );
  }
  const code = (error as { code?: unknown }).code;
  const claim = claimOf(error);
  if (error instanceof oidc.ClientError) {
    if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' && claim === 'exp')
      return new SsoFailure('TOKEN_EXPIRED', describe(error));
    if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && claim === 'nonce')
      return new SsoFailure('NONCE_MISMATCH', describe(error));
    if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && (claim === 'aud' || claim === 'azp'))
      return new SsoFailure('TOKEN_AUDIENCE', describe(error));
    if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' && claim === undefined && /state/.test(describe(error)))
      return new SsoFailure('STATE_INVALID', describe(error));
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_TIMEOUT')
      return new SsoFailure('PROVIDER_UNAVAILABLE', describe(error));
    return new SsoFailure('TOKEN_INVALID', describe(error));
  }
  if (error instanceof TypeError) return new SsoFailure('PROVIDER_UNAVAILABLE', describe(error));
  return new SsoFailure('INTERNAL', describe(error));
}

/** The JWT claim an oauth4webapi check failed on (`cause.cause.claim` through openid-client's wrapper). */
function claimOf(error: unknown): string | undefined {
  let cause: unknown = error;
  for (let depth = 0; depth < 3 && cause; depth++) {
    const claim = (cause as { claim?: unknown }).claim;
    if (typeof claim === 'string') return claim;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  const parts: string[] = [];
  let cause: unknown = error;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    parts.push(cause.message);
    cause = cause.cause;
  }
  return parts.join(' ← ') || String(error);
}
