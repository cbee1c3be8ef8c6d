import type { MemberDto } from '@rolecall/contracts';
import { Database } from '../../../apps/api/src/database/database.service.js';
import { startApp } from '../../api/support/app.js';
import { createAccount, invite, inviteAndAccept, ROLE } from '../../api/support/factories.js';
import { client, type Client } from '../../api/support/http.js';
import { waitForLinkToken } from '../../api/support/outbox.js';
import { seedMembers } from '../users-list/seed.js';

/**
 * The data the dashboard-load benchmark audits, written into `dataDir` by the API running in this
 * process (from source, like the other benches), then closed so that the built API can serve the same
 * SQLite file. Both owners have confirmed their address (as an owner of 1,000 members has). A small account (`small` members: the owner, a Read-only member who signed up through
 * an invitation, a few invitations for the activity log, the rest bulk-seeded) and a large one
 * (`large` members, bulk-seeded by users-list's `seedMembers`: ~1 s per 10,000 on SQLite).
 */
export interface Seeded {
  small: { ownerToken: string; readonlyToken: string; profileId: string; members: number };
  large: { ownerToken: string; members: number };
  seedMs: number;
}

const INVITED = 40;

/** Confirms an owner's address through the mailed link (a new owner's page would show the "confirm your email" banner). */
async function verifyEmail(api: Client, dataDir: string, owner: { email: string; token: string }): Promise<void> {
  const token = await waitForLinkToken(dataDir, owner.email, '/verify-email/');
  const reply = await api.post('/auth/verify-email', { token }, { token: owner.token });
  if (reply.status >= 300) throw new Error(`verify-email failed: ${reply.status} ${JSON.stringify(reply.body)}`);
}

export async function seedAccounts(dataDir: string, sizes: { small: number; large: number }): Promise<Seeded> {
  const started = performance.now();
  const app = await startApp({
    overrides: { dataDir },
    rateLimits: { signInPerIp: 1e6, signInPerEmail: 1e6, invitationsPerAccount: 1e6, acceptancePerIp: 1e6 },
  });
  try {
    const api = client(app.url);
    const db = app.app.get(Database);

    const small = await createAccount(api, { plan: 'enterprise', name: 'Aaron Admin', accountName: 'Acme' });
    await verifyEmail(api, dataDir, small);
    const readonly = await inviteAndAccept(api, dataDir, small, { name: 'Rita Reader', roleId: ROLE.readonly });
    await app.mailSettled();
    // A first page of activity: invitations (one entry each) and role changes.
    const emails = Array.from({ length: INVITED }, (_, i) => `invited.${i}@example.com`);
    const invited = await invite(api, small, emails, { roleId: ROLE.editor });
    if (invited.status !== 201) throw new Error(`invite failed: ${invited.status}`);
    await seedMembers(db, {
      accountId: small.account.id,
      ownerMemberId: small.member.id,
      teamIds: [],
      members: sizes.small - 2 - INVITED,
    });

    const large = await createAccount(api, { plan: 'enterprise', name: 'Lara Large', accountName: 'Globex' });
    await verifyEmail(api, dataDir, large);
    await seedMembers(db, {
      accountId: large.account.id,
      ownerMemberId: large.member.id,
      teamIds: [],
      members: sizes.large - 1,
      emailDomain: 'globex.example',
    });

    // After the long bulk insert the client's idle keep-alive connection may have been closed: one retry.
    const count = async (token: string): Promise<number> => {
      const ask = () => api.get<{ total: number }>('/users?limit=1', { token });
      const reply = await ask().catch(ask);
      return reply.body.total;
    };
    const profile: MemberDto = readonly.member;
    await app.mailSettled();
    return {
      small: {
        ownerToken: small.token,
        readonlyToken: readonly.token,
        profileId: profile.id,
        members: await count(small.token),
      },
      large: { ownerToken: large.token, members: await count(large.token) },
      seedMs: performance.now() - started,
    };
  } finally {
    // Keeps dataDir (startApp removes only the temporary folder it made itself).
    await app.close();
  }
}
