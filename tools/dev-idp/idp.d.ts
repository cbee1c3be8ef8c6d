// Types of idp.js for the TypeScript tests (oidc-provider ships no types of its own).
import type { JsonWebKey } from 'node:crypto';

export type ProviderName = 'google' | 'microsoft' | 'okta';

export interface IdpUser {
  sub: string;
  email: string;
  name: string;
  password: string;
  emailVerified?: boolean;
}

/** The oidc-provider instance (Koa application); `use` adds Koa middleware. */
export interface OidcProvider {
  readonly issuer: string;
  use(middleware: (ctx: IdpContext, next: () => Promise<void>) => Promise<void>): unknown;
}

export interface IdpContext {
  readonly path: string;
  readonly method: string;
  status: number;
  body: unknown;
}

export interface Idp {
  readonly issuer: string;
  readonly provider: OidcProvider;
  /** By `sub`; may be changed while running. */
  readonly users: Map<string, IdpUser>;
  /** The RSA private key (JWK) the ID tokens are signed with. */
  readonly privateJwk: JsonWebKey & { kid: string };
  client(name: ProviderName): { issuer: string; clientId: string; clientSecret: string };
  close(): Promise<void>;
}

export const PROVIDERS: readonly ProviderName[];
export const DEFAULT_USERS: readonly IdpUser[];
export function clientFor(provider: ProviderName): { clientId: string; clientSecret: string };
export function startIdp(options?: {
  port?: number;
  host?: string;
  appUrl?: string;
  users?: IdpUser[];
  privateJwk?: JsonWebKey & { kid: string };
}): Promise<Idp>;
