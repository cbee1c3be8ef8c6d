/**
 * An account with something on every page of the dashboard, for the specs that visit them all
 * (accessibility, dashboard serving): an owner (business plan, teams on), an Editor, a custom role,
 * a pending invitation, and the mailed links' pages (a password reset, the sign-up's confirmation).
 */
import type { TestApp } from '../../api/support/app.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  ROLE,
  uniqueEmail,
  type Joined,
  type SignedUp,
} from '../../api/support/factories.js';
import { client } from '../../api/support/http.js';
import { invitationToken, linkToken, waitForLinkToken } from '../../api/support/outbox.js';

export interface EveryPage {
  owner: SignedUp;
  member: Joined;
  /** Pages a signed-out visitor opens, by what they show. */
  publicPaths: {
    signin: string;
    signup: string;
    'forgot-password': string;
    'reset-password': string;
    'verify-email': string;
    invite: string;
  };
  /** The owner's pages, by what they show. */
  ownerPaths: Record<
    'users' | 'member' | 'roles' | 'role-new' | 'role' | 'role-system' | 'activity' | 'account' | 'me',
    string
  >;
}

export async function seedEveryPage(app: TestApp): Promise<EveryPage> {
  const api = client(app.url);
  const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
  const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Eddie Editor' });
  const role = await api.post<{ id: string }>(
    '/roles',
    { name: 'Support', description: 'Answers Talk', icon: 'headset', permissions: ['talk.reply'] },
    { token: owner.token },
  );
  const pending = uniqueEmail('pending');
  await invite(api, owner, [pending]);
  const account = await api.get<{ version: number }>('/account', { token: owner.token });
  await api.patch('/account', { teamsEnabled: true }, { token: owner.token, headers: ifMatch(account.body.version) });
  // The mailed links' pages: a password reset (sent after the 202) and the sign-up's confirmation.
  const reset = await api.post('/auth/password-reset', { email: member.email });
  if (reset.status !== 202) throw new Error(`password reset answered ${reset.status}`);
  const resetToken = await waitForLinkToken(app.config.dataDir, member.email, '/reset-password/');
  return {
    owner,
    member,
    publicPaths: {
      signin: '/signin',
      signup: '/signup',
      'forgot-password': '/forgot-password',
      'reset-password': `/reset-password/${resetToken}`,
      'verify-email': `/verify-email/${linkToken(app.config.dataDir, owner.email, '/verify-email/')}`,
      invite: `/invite/${invitationToken(app.config.dataDir, pending)}`,
    },
    ownerPaths: {
      users: '/users',
      member: `/users/${member.member.id}`,
      roles: '/roles',
      'role-new': '/roles/new',
      role: `/roles/${role.body.id}`,
      'role-system': `/roles/${ROLE.admin}`,
      activity: '/activity',
      account: '/account',
      me: '/me',
    },
  };
}
