/**
 * A member change reads each row it needs once (issue 18 (a): most of a role change's time to its
 * pushes is its own request, a statement after another on one connection). Inside the transaction,
 * after the account lock, the actor's re-check and the member's read, nothing is read again: not
 * the actor and the member for the activity entry's names, not the roles (the new one and the one
 * held come in the role check's one read), not the response's role nor its inviter when the change
 * already holds them. The statements are counted through TypeORM's logger, between the
 * transaction's BEGIN and its COMMIT on the connection that began it.
 *
 * The names the entries give are still the ones a lookup gives: the actor's and the member's (its
 * email while it has no name), both roles' (a custom one too), with an actor who is not the inviter.
 */
import type { ActivityEntryDto, MemberDetailDto, PageDto } from '@rolecall/contracts';
import type { Logger, QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, invite, inviteAndAccept, ROLE, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { createRole } from './support/world.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const BEGIN = /^(START|BEGIN) TRANSACTION/;

/** The statements of the transactions `work` runs, each transaction's between its BEGIN and COMMIT. */
async function transactionStatements(work: () => Promise<void>): Promise<string[][]> {
  const dataSource = app.app.get(Database).dataSource;
  const original = dataSource.logger;
  const transactions: string[][] = [];
  const open = new Map<QueryRunner | undefined, string[]>();
  const recording: Logger = {
    logQuery: (query, parameters, runner) => {
      if (BEGIN.test(query)) open.set(runner, []);
      else if (query.startsWith('COMMIT')) {
        const statements = open.get(runner);
        if (statements) transactions.push(statements);
        open.delete(runner);
      } else open.get(runner)?.push(query.replace(/\s+/g, ' ').slice(0, 140));
      original.logQuery(query, parameters, runner);
    },
    logQueryError: (...args) => original.logQueryError(...args),
    logQuerySlow: (...args) => original.logQuerySlow(...args),
    logSchemaBuild: (...args) => original.logSchemaBuild(...args),
    logMigration: (...args) => original.logMigration(...args),
    log: (...args) => original.log(...args),
  };
  dataSource.logger = recording;
  try {
    await work();
  } finally {
    dataSource.logger = original;
  }
  return transactions;
}

async function entry(owner: SignedUp, action: string, memberId: string): Promise<ActivityEntryDto> {
  const reply = await api.get<PageDto<ActivityEntryDto>>(`/activity?action=${action}&member=${memberId}`, {
    token: owner.token,
  });
  expect(reply.status).toBe(200);
  const found = reply.body.items.find((item) => item.target.id === memberId);
  expect(found, `no ${action} entry for ${memberId}`).toBeDefined();
  return found!;
}

describe('a member change reads each row once', () => {
  it('role, agent access, revocation and reactivation: no second read of the actor, the member or the roles', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder', roleId: ROLE.editor });
    let version = bob.member.version;
    const change = async (method: 'PATCH' | 'POST', path: string, body?: unknown) => {
      const options = { token: owner.token, headers: ifMatch(version) };
      const reply =
        method === 'PATCH'
          ? await api.patch<MemberDetailDto>(`/users/${bob.member.id}${path}`, body, options)
          : await api.post<MemberDetailDto>(`/users/${bob.member.id}${path}`, body, options);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      version = reply.body.version;
      // Bob was invited by the owner, who acts: the response's inviter comes from the actor's row.
      expect(reply.body.invitedBy).toEqual({ id: owner.member.id, name: 'Olive Owner', email: owner.email });
      return reply.body;
    };
    // At most: the account lock, the actor's re-check and the member (one statement), then the
    // change's own statements (role check, seat count, sessions), its UPDATE, the entry's INSERT and
    // the account's head (one statement on PostgreSQL), and the response's person and teams (one
    // statement) and role (unless the change holds it). Before issue 18's cut, each of those pairs
    // was two: 9 statements for a role change, where the counts below say 6 on PostgreSQL.
    const postgres = app.app.get(Database).kind === 'postgres';
    const cases: [string, number, () => Promise<unknown>][] = [
      ['role change', postgres ? 6 : 7, () => change('PATCH', '', { roleId: ROLE.readonly })],
      ['agent access', postgres ? 7 : 8, () => change('PATCH', '', { agentAccess: true })],
      ['revocation', postgres ? 8 : 9, () => change('POST', '/revoke')],
      ['reactivation', postgres ? 7 : 8, () => change('POST', '/reactivate')],
    ];
    for (const [name, most, run] of cases) {
      const transactions = await transactionStatements(async () => void (await run()));
      expect(transactions, name).toHaveLength(1);
      const statements = transactions[0]!;
      expect(statements.length, `${name}:\n${statements.join('\n')}`).toBeLessThanOrEqual(most);
    }
  });

  it('one statement reads the actor and the member: a change of oneself, and a member of another account', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    // The owner changes themselves: the re-check's row and the changed row are one row, read once.
    const transactions = await transactionStatements(async () => {
      const reply = await api.patch<MemberDetailDto>(
        `/users/${owner.member.id}`,
        { agentAccess: true },
        { token: owner.token, headers: ifMatch(owner.member.version) },
      );
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body).toMatchObject({ id: owner.member.id, agentAccess: true, version: owner.member.version + 1 });
    });
    // A members row's columns, in the entity's order (the statements are kept to their first 140 characters).
    const memberRead = /^SELECT (\w+)\.id AS "\1_id", \1\.account_id AS "\1_account_id", \1\.person_id /;
    // The change's own transaction (a mail worker's may commit meanwhile): the one that updates a member.
    const change = transactions.find((statements) =>
      statements.some((statement) => statement.startsWith('UPDATE "members"')),
    );
    expect(
      change?.filter((statement) => memberRead.test(statement)),
      transactions.join('\n---\n'),
    ).toHaveLength(1);
    const toggled = await entry(owner, 'user.agent_access_changed', owner.member.id);
    expect(toggled.names).toEqual({ [owner.member.id]: 'Olive Owner' });
    const me = await api.get<MemberDetailDto>(`/users/${owner.member.id}`, { token: owner.token });
    expect(me.body).toMatchObject({ agentAccess: true, version: owner.member.version + 1 });

    // Another account's member, named by its id: not found here, and left as it was.
    const other = await createAccount(api, { plan: 'business' });
    const stranger = await inviteAndAccept(api, app.config.dataDir, other, { roleId: ROLE.editor });
    const refused = await api.patch(
      `/users/${stranger.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(stranger.member.version) },
    );
    expect(refused.status).toBe(404);
    const untouched = await api.get<MemberDetailDto>(`/users/${stranger.member.id}`, { token: other.token });
    expect(untouched.body).toMatchObject({ role: { id: ROLE.editor }, version: stranger.member.version });
  });

  it('the entries name the actor, the member and both roles as a lookup does, the actor not being the inviter', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Ada Admin', roleId: ROLE.admin });
    const custom = await createRole(
      { api },
      { accountId: owner.account.id, ownerToken: owner.token, ownerMemberId: owner.member.id },
    );
    const carol = await inviteAndAccept(api, app.config.dataDir, owner, {
      name: 'Carol Custom',
      roleId: custom.id,
    });

    const changed = await api.patch<MemberDetailDto>(
      `/users/${carol.member.id}`,
      { roleId: ROLE.editor },
      { token: admin.token, headers: ifMatch(carol.member.version) },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.invitedBy).toEqual({ id: owner.member.id, name: 'Olive Owner', email: owner.email });
    expect(changed.body.role).toMatchObject({ id: ROLE.editor, name: 'Editor' });
    const roleChanged = await entry(owner, 'user.role_changed', carol.member.id);
    expect(roleChanged.names).toEqual({
      [admin.member.id]: 'Ada Admin',
      [carol.member.id]: 'Carol Custom',
      [custom.id]: custom.name,
      [ROLE.editor]: 'Editor',
    });

    // A member who has not joined has no name: the entry names it by its email.
    const invited = await invite(api, owner, ['dora@example.com']);
    expect(invited.status).toBe(201);
    const dora = invited.body.items[0]!;
    const toggled = await api.patch<MemberDetailDto>(
      `/users/${dora.id}`,
      { agentAccess: true },
      { token: admin.token, headers: ifMatch(dora.version) },
    );
    expect(toggled.status).toBe(200);
    const agentChanged = await entry(owner, 'user.agent_access_changed', dora.id);
    expect(agentChanged.names).toEqual({ [admin.member.id]: 'Ada Admin', [dora.id]: 'dora@example.com' });

    const revoked = await api.post<MemberDetailDto>(`/users/${carol.member.id}/revoke`, undefined, {
      token: admin.token,
      headers: ifMatch(changed.body.version),
    });
    expect(revoked.status).toBe(200);
    const revocation = await entry(owner, 'user.revoked', carol.member.id);
    expect(revocation.names).toEqual({ [admin.member.id]: 'Ada Admin', [carol.member.id]: 'Carol Custom' });
    const verified = await api.get<{ ok: boolean }>('/activity/verify', { token: owner.token });
    expect(verified.body.ok).toBe(true);
  });
});
