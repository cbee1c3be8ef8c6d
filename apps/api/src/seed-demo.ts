import 'reflect-metadata';
import { EDITOR_ROLE_ID, READONLY_ROLE_ID, ADMIN_ROLE_ID } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { createApp } from './app.factory.js';
import { AccountEntity } from './database/entities/account.entity.js';
import { ActivityService } from './database/activity.service.js';
import { AuthService } from './auth/auth.service.js';
import { Passwords } from './common/passwords.js';
import { loadConfig } from './config.js';
import { Database } from './database/database.service.js';
import { MemberEntity, searchNameOf } from './database/entities/member.entity.js';
import { insertPerson } from './database/persons.js';
import { MemberTeamEntity, TeamEntity } from './database/entities/team.entity.js';

/**
 * `npm run seed:demo`: a Business-plan demo account with three admins, ~30 members of every
 * system role, some with Talk agent access, and three Talk teams. Every member added is written
 * with its activity entry, as the API would. Prints how to sign in.
 */
const DEMO_PASSWORD = 'rolecall-demo-2026';
const FIRST = [
  'Alex',
  'Sam',
  'Robin',
  'Jamie',
  'Taylor',
  'Jordan',
  'Casey',
  'Morgan',
  'Riley',
  'Avery',
  'Quinn',
  'Drew',
  'Kai',
  'Noor',
  'Ines',
];
const LAST = ['Lindqvist', 'Okafor', 'Moreau', 'Tanaka', 'Silva', 'Novak', 'Haddad', 'Keller', 'Byrne', 'Costa'];

const config = loadConfig();
const app = await createApp(config, { logLevels: ['error'] });
await app.init();
const suffix = randomUUID().slice(0, 6);
const ownerEmail = `owner.${suffix}@demo.rolecall.test`;
const auth = app.get(AuthService);
const owner = await auth.signup(
  {
    accountName: `Demo Co ${suffix}`,
    name: 'Olivia Owner',
    email: ownerEmail,
    password: DEMO_PASSWORD,
    plan: 'business',
  },
  { ip: '127.0.0.1', userAgent: 'seed-demo' },
);
const db = app.get(Database);
const activity = app.get(ActivityService);
const passwordHash = await app.get(Passwords).hash(DEMO_PASSWORD);
const actor = { memberId: owner.member.id, email: ownerEmail, ip: '127.0.0.1', userAgent: 'seed-demo' };

await db.transaction(async (tx) => {
  const account = await db.lockAccount(tx, owner.account.id);
  await tx.manager
    .getRepository(AccountEntity)
    .update({ id: account.id }, { teamsEnabled: true, version: account.version + 1 });
  const teams = ['Tier 1', 'Billing questions', 'Enterprise'].map((name) => ({
    id: randomUUID(),
    accountId: account.id,
    name,
    nameKey: name.toLowerCase(),
    version: 1,
    createdAt: new Date().toISOString(),
  }));
  await tx.manager.getRepository(TeamEntity).insert(teams);
  for (const team of teams) {
    await activity.append(tx, account, actor, {
      action: 'team.created',
      target: { type: 'team', id: team.id, label: team.name },
      changes: { name: { after: team.name } },
    });
  }
  for (let i = 0; i < 30; i += 1) {
    const name = `${FIRST[i % FIRST.length]} ${LAST[(i * 7) % LAST.length]}`;
    const email = `${name.toLowerCase().replace(/\s+/g, '.')}.${i}@demo.rolecall.test`;
    const now = new Date(Date.now() - (30 - i) * 86_400_000).toISOString();
    const roleId = i < 2 ? ADMIN_ROLE_ID : i % 3 === 0 ? READONLY_ROLE_ID : EDITOR_ROLE_ID;
    // They joined through invitations, which prove the mailbox: verified.
    const person = await insertPerson(tx.manager, { email, name, passwordHash, emailVerified: true, now });
    const status = i === 29 ? 'revoked' : 'active';
    const member = {
      id: randomUUID(),
      accountId: account.id,
      personId: person.id,
      email,
      name,
      status,
      roleId,
      agentAccess: i % 4 === 1,
      invitedByMemberId: owner.member.id,
      invitedAt: now,
      joinedAt: now,
      lastActiveAt: now,
      sortName: name.toLowerCase(),
      searchName: searchNameOf(name),
      lastActiveSort: now,
      permissionsVersion: 1,
      version: 1,
      createdAt: now,
    } as const;
    await tx.manager.getRepository(MemberEntity).insert(member);
    if (member.agentAccess)
      await tx.manager
        .getRepository(MemberTeamEntity)
        .insert({ memberId: member.id, teamId: teams[i % teams.length]!.id });
    await activity.append(tx, account, actor, {
      action: 'user.invited',
      target: { type: 'member', id: member.id, label: email },
      changes: { roleId: { after: roleId } },
    });
    await activity.append(
      tx,
      account,
      { ...actor, memberId: member.id, email },
      { action: 'invitation.accepted', target: { type: 'member', id: member.id, label: email }, changes: null },
    );
    if (status === 'revoked') {
      await activity.append(tx, account, actor, {
        action: 'user.revoked',
        target: { type: 'member', id: member.id, label: email },
        changes: { status: { before: 'active', after: 'revoked' } },
      });
    }
  }
});
await app.close();

console.log(`
Demo account "Demo Co ${suffix}" created (Business plan, 31 members, 3 Talk teams).
Sign in at ${config.publicUrl}/signin with:
  email:    ${ownerEmail}   (owner)
  password: ${DEMO_PASSWORD}
Every demo member uses the same password, e.g. alex.lindqvist.0@demo.rolecall.test (Admin).
`);
