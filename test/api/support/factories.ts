import type { AuthResultDto, MemberDto } from '@rolecall/contracts';
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import type { Client } from './http.js';
import { awaitInvitationToken, type MailDirs } from './outbox.js';

export const PASSWORD = 'correct horse battery staple';

export const uniqueEmail = (prefix = 'person'): string => `${prefix}.${randomBytes(4).toString('hex')}@example.com`;

export interface SignedUp extends AuthResultDto {
  email: string;
  password: string;
}

/** Signs up a new account (free plan unless told) and returns its owner's session. */
export async function createAccount(
  api: Client,
  input: { email?: string; name?: string; accountName?: string; plan?: string; password?: string } = {},
): Promise<SignedUp> {
  const email = input.email ?? uniqueEmail('owner');
  const password = input.password ?? PASSWORD;
  const reply = await api.post<AuthResultDto>('/signup', {
    accountName: input.accountName ?? 'Acme',
    name: input.name ?? 'Olive Owner',
    email,
    password,
    ...(input.plan ? { plan: input.plan } : {}),
  });
  if (reply.status !== 201) throw new Error(`signup failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return { ...reply.body, email, password };
}

/** The current TOTP code of a secret at the app clock's time. */
export function totpAt(secret: string, at: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(at.getTime() / 1000) });
}

/** Turns 2FA on for a session; returns the secret and the recovery codes. */
export async function enrolTotp(api: Client, token: string, now: Date): Promise<{ secret: string; recoveryCodes: string[] }> {
  const setup = await api.post<{ secret: string }>('/me/2fa/setup', undefined, { token });
  if (setup.status !== 200) throw new Error(`2fa setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  const code = await totpAt(setup.body.secret, now);
  const confirm = await api.post<{ recoveryCodes: string[] }>('/me/2fa/confirm', { code }, { token });
  if (confirm.status !== 200) throw new Error(`2fa confirm failed: ${confirm.status} ${JSON.stringify(confirm.body)}`);
  return { secret: setup.body.secret, recoveryCodes: confirm.body.recoveryCodes };
}

export const ROLE = {
  admin: '00000000-0000-4000-8000-000000000001',
  editor: '00000000-0000-4000-8000-000000000002',
  readonly: '00000000-0000-4000-8000-000000000003',
} as const;

export interface Joined {
  email: string;
  token: string;
  member: MemberDto;
}

/** Invites `email` as `owner` and accepts through the link read from the real outbox file. */
export async function inviteAndAccept(
  api: Client,
  dataDir: MailDirs,
  admin: { token: string },
  input: { email?: string; name?: string; roleId?: string; agentAccess?: boolean; teamIds?: string[] } = {},
): Promise<Joined> {
  const email = input.email ?? uniqueEmail('member');
  const invited = await invite(api, admin, [email], input);
  if (invited.status !== 201) throw new Error(`invite failed: ${invited.status} ${JSON.stringify(invited.body)}`);
  const accepted = await api.post<{ token: string; member: MemberDto }>('/invitations/accept', {
    token: await awaitInvitationToken(dataDir, email),
    name: input.name ?? 'Mia Member',
    password: PASSWORD,
  });
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  return { email, token: accepted.body.token, member: accepted.body.member };
}

export function invite(
  api: Client,
  admin: { token: string },
  emails: string[],
  input: { roleId?: string; agentAccess?: boolean; teamIds?: string[] } = {},
) {
  return api.post<{ items: MemberDto[] }>(
    '/users/invitations',
    { emails, roleId: input.roleId ?? ROLE.editor, agentAccess: input.agentAccess ?? false, teamIds: input.teamIds ?? [] },
    { token: admin.token },
  );
}

/** `If-Match` for a resource's current version. */
export const ifMatch = (version: number) => ({ 'if-match': `"${version}"` });

/**
 * Revokes a member as an admin (`token`), at the member's current version (read first: sign-ins
 * and live changes move it); answers the revoke's status.
 */
export async function revokeMember(api: Client, token: string, memberId: string): Promise<number> {
  const current = await api.get<{ version: number }>(`/users/${memberId}`, { token });
  const reply = await api.post(`/users/${memberId}/revoke`, undefined, {
    token,
    headers: ifMatch(current.body.version),
  });
  return reply.status;
}
