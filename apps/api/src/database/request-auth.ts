import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { plainIp, type PermissionKey } from '@rolecall/contracts';
import type { Request } from 'express';
import type { Actor } from './activity.service.js';
import { DomainError } from '../common/domain-error.js';
import { ifMatchOf } from '../common/if-match.js';
import type { ResolvedPermissions } from './permissions.service.js';
import type { AccountEntity } from './entities/account.entity.js';
import type { MemberEntity } from './entities/member.entity.js';
import type { PersonEntity } from './entities/person.entity.js';
import type { RoleEntity } from './entities/role.entity.js';
import type { SessionEntity } from './entities/session.entity.js';

export const SESSION_COOKIE = 'rolecall_session';

/** A valid session's standing: who, in which account, with which role (sessions.service reads it). */
export interface AuthContext {
  readonly token: string;
  readonly session: SessionEntity;
  readonly person: PersonEntity;
  readonly member: MemberEntity;
  readonly account: AccountEntity;
  /**
   * The member's role, read in the same statement as the member (so the permission set needs no
   * second read when the member's cached one is stale); absent for API keys, which carry theirs.
   */
  readonly role?: RoleEntity | null;
  /**
   * The account requires 2FA, this session proved no second factor and the person has none: the
   * session may only enrol (the guard allows GET /me, 2FA set-up and confirm, sign-out).
   */
  readonly enrolmentOnly: boolean;
}

/** What the guard attaches, beside the usual auth fields, for a request made with an API key. */
export interface ServiceAccountAuth {
  readonly id: string;
  readonly name: string;
  readonly keyId: string;
}

/** What the guard attaches to a request made with a valid session. */
export interface RequestAuth extends AuthContext {
  readonly permissions: ResolvedPermissions;
  /** The route's declared permissions (any of them suffices); null for session-only routes. */
  readonly required: readonly PermissionKey[] | null;
  /**
   * Set when the request was made with an API key (issue 16 §3): `member`, `person` and `session`
   * then describe the service account (member-shaped, id = the service account's id) and the key.
   */
  readonly serviceAccount?: ServiceAccountAuth;
}

export type AuthedRequest = Request & { auth?: RequestAuth };

/** The session token of a request: `Authorization: Bearer …` first, then the cookie. Never the query string. */
export function tokenOf(request: Request): string | null {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+([A-Za-z0-9_-]{20,200})$/.exec(header.trim());
    return match ? match[1]! : null;
  }
  const cookie = (request.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
  return typeof cookie === 'string' && /^[A-Za-z0-9_-]{20,200}$/.test(cookie) ? cookie : null;
}

export function requestMeta(request: Request): { ip: string | null; userAgent: string | null } {
  // `::ffff:203.0.113.9` (IPv4 on a dual-stack socket) is stored and shown as `203.0.113.9`.
  return { ip: plainIp(request.ip ?? null), userAgent: request.headers['user-agent']?.slice(0, 300) ?? null };
}

function actorOf(request: AuthedRequest): Actor {
  const serviceAccount = request.auth?.serviceAccount;
  // A key acts as its service account: no member, named by the service account's name.
  if (serviceAccount)
    return { memberId: null, email: null, kind: 'service_account', name: serviceAccount.name, ...requestMeta(request) };
  return {
    memberId: request.auth?.member.id ?? null,
    email: request.auth?.person.email ?? null,
    ...requestMeta(request),
  };
}

function authOf(request: AuthedRequest): RequestAuth {
  if (!request.auth) throw new DomainError('UNAUTHENTICATED', 'Sign in to continue');
  return request.auth;
}

/** The signed-in session of a route declared `session` or with a permission. */
export const Auth = createParamDecorator((_data: unknown, context: ExecutionContext): RequestAuth =>
  authOf(context.switchToHttp().getRequest<AuthedRequest>()),
);

/** Who makes a change: the signed-in session and the actor (member, email, IP, user agent) its activity entry names. */
export interface Acting {
  readonly auth: RequestAuth;
  readonly actor: Actor;
}

/** The session and actor of a route that changes something: `@Acting() { auth, actor }: Acting`. */
export const Acting = createParamDecorator((_data: unknown, context: ExecutionContext): Acting => {
  const request = context.switchToHttp().getRequest<AuthedRequest>();
  return { auth: authOf(request), actor: actorOf(request) };
});

/** A change to what exists: who makes it and the version it changes (`If-Match`, see `ifMatchOf`). */
export interface Change extends Acting {
  readonly ifMatch: number;
}

/**
 * A change to an existing resource: `@Acting()` and the version its `If-Match` names, read in that
 * order (missing → 428, malformed → 400, see `ifMatchOf`): `@Change() { auth, actor, ifMatch }: Change`.
 */
export const Change = createParamDecorator((_data: unknown, context: ExecutionContext): Change => {
  const request = context.switchToHttp().getRequest<AuthedRequest>();
  return { auth: authOf(request), actor: actorOf(request), ifMatch: ifMatchOf(request) };
});
