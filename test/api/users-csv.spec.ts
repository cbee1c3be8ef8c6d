/**
 * CSV export of the member list and CSV import of invitations (issue 17 §3), over real HTTP on SQLite
 * and (with DATABASE_URL) PostgreSQL: the export's columns, quoting, formula guard, filters, tenant
 * isolation, activity entry and streaming of a few thousand members; the import's dry run, every
 * per-row error, all or nothing, seats, the 1,000-row cap and the mails.
 */
import {
  MEMBER_EXPORT_COLUMNS,
  type AccountDto,
  type ActivityEntryDto,
  type ImportPreviewDto,
  type ImportResultDto,
  type MemberDto,
  type MemberPageDto,
  type PageDto,
  type TeamDto,
} from '@rolecall/contracts';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { guardCell } from '../../apps/api/src/members/members-export.js';
import { seedMembers } from '../bench/users-list/seed.js';
import { startApp, type TestApp } from './support/app.js';
import { activityActions, query } from './support/db.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  ROLE,
  uniqueEmail,
  type SignedUp,
} from './support/factories.js';
import { client, isErrorShape, type Client } from './support/http.js';
import { mailsTo } from './support/outbox.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

type Row = Record<(typeof MEMBER_EXPORT_COLUMNS)[number], string>;

/** Downloads the export as text and parses it back with csv-parse. */
async function exportCsv(owner: { token: string }, search = '') {
  const response = await fetch(`${app.url}/api/v1/users/export?format=csv${search ? `&${search}` : ''}`, {
    headers: { authorization: `Bearer ${owner.token}` },
  });
  const text = await response.text();
  const rows = response.status === 200 ? (parse(text, { columns: true, bom: true }) as Row[]) : [];
  return { response, text, rows };
}

async function enableTeams(owner: SignedUp, names: string[]): Promise<TeamDto[]> {
  const account = await api.get<AccountDto>('/account', { token: owner.token });
  const patched = await api.patch(
    '/account',
    { teamsEnabled: true },
    { token: owner.token, headers: ifMatch(account.body.version) },
  );
  expect(patched.status).toBe(200);
  const teams: TeamDto[] = [];
  for (const name of names) {
    const reply = await api.post<TeamDto>('/teams', { name }, { token: owner.token });
    expect(reply.status).toBe(201);
    teams.push(reply.body);
  }
  return teams;
}

const importCsv = <T = ImportPreviewDto>(owner: { token: string }, csv: string, dryRun = true) =>
  api.post<T>(`/users/import${dryRun ? '?dryRun=true' : ''}`, { csv }, { token: owner.token });

const errorCodes = (preview: ImportPreviewDto) => preview.rows.map((row) => row.errors.map((error) => error.code));

async function memberCount(accountId: string): Promise<number> {
  const [row] = await query<{ n: number | string }>(app, 'SELECT COUNT(*) AS n FROM members WHERE account_id = ?', [
    accountId,
  ]);
  return Number(row!.n);
}

describe('GET /users/export?format=csv', () => {
  it('has every column of the Users table, as an attachment named by the date, and logs users.exported', async () => {
    const owner = await createAccount(api, { plan: 'starter', name: 'Olive Owner' });
    const [tier1, tier2] = await enableTeams(owner, ['Tier 1', 'Tier 2']);
    const joined = await inviteAndAccept(api, app.config.dataDir, owner, {
      name: 'Mia Member',
      roleId: ROLE.readonly,
      agentAccess: true,
      teamIds: [tier2!.id, tier1!.id],
    });
    const pending = uniqueEmail('pending');
    expect((await invite(api, owner, [pending])).status).toBe(201);

    const { response, text, rows } = await exportCsv(owner);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="rolecall-users-${new Date().toISOString().slice(0, 10)}.csv"`,
    );
    expect(text.split('\n')[0]).toBe(MEMBER_EXPORT_COLUMNS.join(','));
    const listed = await api.get<MemberPageDto>('/users', { token: owner.token });
    expect(rows.map((row) => row.Email)).toEqual(listed.body.items.map((m) => m.email));
    expect(rows).toHaveLength(3);
    const byEmail = new Map(rows.map((row) => [row.Email, row]));
    expect(byEmail.get(owner.email)).toMatchObject({
      ID: owner.member.id,
      Name: 'Olive Owner',
      Role: 'Admin',
      Owner: 'yes',
      'Billing contact': 'yes',
      Status: 'active',
      '2FA': 'off',
      'Talk access': 'no',
      Teams: '',
      'Enforced sign-in': '',
    });
    expect(byEmail.get(joined.email)).toMatchObject({
      Name: 'Mia Member',
      Role: 'Read only',
      Owner: 'no',
      'Billing contact': 'no',
      Status: 'active',
      'Talk access': 'yes',
      Teams: 'Tier 1; Tier 2',
    });
    expect(byEmail.get(joined.email)!.Joined).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(byEmail.get(pending)).toMatchObject({
      Name: '',
      Status: 'invited',
      '2FA': '',
      Joined: '',
      'Last active': '',
    });
    expect(byEmail.get(pending)!.Invited).toMatch(/^\d{4}-\d\d-\d\dT/);

    const log = await api.get<PageDto<ActivityEntryDto>>('/activity?action=users.exported', { token: owner.token });
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0]).toMatchObject({
      action: 'users.exported',
      target: { type: 'account', id: owner.account.id },
      changes: { format: 'csv', count: 3, filter: {} },
    });
  });

  it('quotes commas, quotes and line breaks, and writes cells a spreadsheet would run as formulas with a leading apostrophe', async () => {
    const owner = await createAccount(api, { plan: 'starter', name: 'Olive Owner' });
    const [team] = await enableTeams(owner, ['=cmd|calc']);
    const names = ['Bob "The Builder", Jr', '=HYPERLINK("http://evil.test","x")', '+1 555', '-2+3', '@SUM(A1)'];
    for (const name of names) await inviteAndAccept(api, app.config.dataDir, owner, { name, teamIds: [team!.id] });
    const { text, rows } = await exportCsv(owner);
    expect(text).toContain('"Bob ""The Builder"", Jr"');
    expect(rows.map((row) => row.Name).sort()).toEqual(
      [
        'Bob "The Builder", Jr',
        `'=HYPERLINK("http://evil.test","x")`,
        "'+1 555",
        "'-2+3",
        "'@SUM(A1)",
        'Olive Owner',
      ].sort(),
    );
    expect(rows.filter((row) => row.Teams === "'=cmd|calc")).toHaveLength(5);
    // No cell of the file starts with a formula character.
    expect(
      parse(text, { bom: true })
        .flat()
        .filter((cell: string) => /^[=+\-@\t\r]/.test(cell)),
    ).toEqual([]);
    expect(['=1', '+1', '-1', '@1', '\t1', '\r1', 'a=1', "'=1", ''].map(guardCell)).toEqual([
      "'=1",
      "'+1",
      "'-1",
      "'@1",
      "'\t1",
      "'\r1",
      'a=1',
      "'=1",
      '',
    ]);
  });

  it('exports only what the filters match, in the sort asked for, and only this account', async () => {
    const owner = await createAccount(api, { plan: 'starter', name: 'Olive Owner' });
    const other = await createAccount(api, { plan: 'starter', name: 'Otto Other' });
    const a = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Anna Alpha', roleId: ROLE.readonly });
    const b = await inviteAndAccept(api, app.config.dataDir, owner, {
      name: 'Bert Beta',
      roleId: ROLE.editor,
      agentAccess: true,
    });
    const invited = uniqueEmail('inv');
    await invite(api, owner, [invited], { roleId: ROLE.readonly });
    const foreign = uniqueEmail('foreign');
    await invite(api, other, [foreign]);

    expect((await exportCsv(owner, 'status=invited')).rows.map((row) => row.Email)).toEqual([invited]);
    expect((await exportCsv(owner, `role=${ROLE.readonly}&status=active`)).rows.map((row) => row.Email)).toEqual([
      a.email,
    ]);
    expect((await exportCsv(owner, 'agent=true')).rows.map((row) => row.Email)).toEqual([b.email]);
    expect((await exportCsv(owner, 'q=bert')).rows.map((row) => row.Email)).toEqual([b.email]);
    const sorted = (await exportCsv(owner, 'sort=-name')).rows.map((row) => row.Email);
    const listed = await api.get<MemberPageDto>('/users?sort=-name', { token: owner.token });
    expect(sorted).toEqual(listed.body.items.map((m) => m.email));
    const all = (await exportCsv(owner)).rows.map((row) => row.Email);
    expect(all).toHaveLength(4);
    expect(all).not.toContain(foreign);
    expect((await exportCsv(other)).rows.map((row) => row.Email).sort()).toEqual([other.email, foreign].sort());

    const log = await api.get<PageDto<ActivityEntryDto>>('/activity?action=users.exported', { token: owner.token });
    expect(log.body.items[log.body.items.length - 1]).toMatchObject({
      changes: { count: 1, filter: { status: 'invited' } },
    });
    expect(log.body.items).toHaveLength(6);
  });

  it('answers bad filters with the error shape and nothing logged', async () => {
    const owner = await createAccount(api);
    for (const search of ['format=xlsx', 'status=gone', 'sort=password', 'role=x', 'cursor=abc', 'limit=5']) {
      const response = await fetch(`${app.url}/api/v1/users/export?${search}`, {
        headers: { authorization: `Bearer ${owner.token}` },
      });
      expect(response.status, search).toBe(400);
      expect(isErrorShape(await response.json()), search).toBe(true);
    }
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created']);
  });

  it('streams a few thousand members page by page, each once, in order', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner' });
    const seeded = await seedMembers(app.app.get(Database), {
      accountId: owner.account.id,
      ownerMemberId: owner.member.id,
      teamIds: [],
      members: 3000,
    });
    expect(seeded.members).toBe(3000);
    const { response, rows } = await exportCsv(owner, 'sort=email');
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('x-total-count')).toBe('3001');
    expect(rows).toHaveLength(3001);
    expect(new Set(rows.map((row) => row.ID)).size).toBe(3001);
    const emails = rows.map((row) => row.Email);
    expect(emails).toEqual([...emails].sort());
    const revoked = await exportCsv(owner, 'status=revoked');
    expect(revoked.rows.length).toBe(seeded.byStatus.revoked);
    expect(revoked.rows.every((row) => row.Status === 'revoked')).toBe(true);
  }, 120_000);
});

describe('POST /users/import', () => {
  it('previews every row with its role, agent access and teams, writing nothing', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const [support] = await enableTeams(owner, ['Support']);
    const [a, b] = [uniqueEmail('a'), uniqueEmail('b')];
    const before = await activityActions(app, owner.account.id);
    const csv = `\ufeffTeams,E-mail Address,ROLE,Agent Access\r\nsupport,${a.toUpperCase()},editor,yes\r\n,${b},Read only,\r\n,,,\r\n`;
    const reply = await importCsv(owner, csv);
    expect(reply.status).toBe(200);
    expect(reply.body.rows).toEqual([
      {
        line: 2,
        email: a,
        role: { id: ROLE.editor, name: 'Editor', icon: expect.any(String) },
        agentAccess: true,
        teams: [{ id: support!.id, name: 'Support' }],
        errors: [],
      },
      {
        line: 3,
        email: b,
        role: { id: ROLE.readonly, name: 'Read only', icon: expect.any(String) },
        agentAccess: false,
        teams: [],
        errors: [],
      },
    ]);
    expect(reply.body).toMatchObject({
      invitations: 2,
      rowsWithErrors: 0,
      wouldFail: null,
      seats: { limit: 10, used: 3, invited: 2 },
      agentSeats: { limit: 3, used: 1, billable: 0, monthlyCost: 0 },
    });
    expect(await activityActions(app, owner.account.id)).toEqual(before);
    expect(await memberCount(owner.account.id)).toBe(1);
    expect(mailsTo(app.config.dataDir, a)).toEqual([]);
  });

  it('names every problem of every row', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const revoked = await inviteAndAccept(api, app.config.dataDir, owner, {});
    const detail = await api.get<MemberDto>(`/users/${revoked.member.id}`, { token: owner.token });
    expect(
      (
        await api.post(`/users/${revoked.member.id}/revoke`, undefined, {
          token: owner.token,
          headers: ifMatch(detail.body.version),
        })
      ).status,
    ).toBe(200);
    const pending = uniqueEmail('pending');
    await invite(api, owner, [pending]);
    const ok = uniqueEmail('ok');
    const csv = [
      'email,role,agent access,teams',
      `${ok},Editor,no,`,
      'not-an-email,Editor,no,',
      ',Editor,no,',
      `${ok.toUpperCase()},Editor,no,`,
      `${pending},Editor,no,`,
      `${revoked.email},Editor,no,`,
      `${uniqueEmail()},Wizard,no,`,
      `${uniqueEmail()},,no,`,
      `${uniqueEmail()},Editor,maybe,`,
      `${uniqueEmail()},Editor,no,Support`,
    ].join('\n');
    const reply = await importCsv(owner, csv);
    expect(reply.status).toBe(200);
    expect(errorCodes(reply.body)).toEqual([
      [],
      ['email_invalid'],
      ['email_missing'],
      ['duplicate'],
      ['already_member'],
      ['already_member'],
      ['role_unknown'],
      ['role_missing'],
      ['agent_access_invalid'],
      ['teams_disabled'],
    ]);
    expect(reply.body.rows.map((row) => row.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(reply.body.rows[3]!.errors[0]!.message).toContain('line 2');
    expect(reply.body.rows[5]!.errors[0]!.message).toContain('reactivate');
    expect(reply.body.rows[6]!.errors[0]!.message).toContain('Read only');
    expect(reply.body).toMatchObject({ invitations: 1, rowsWithErrors: 9, wouldFail: { code: 'VALIDATION_FAILED' } });

    await enableTeams(owner, ['Support']);
    const teams = await importCsv(owner, `email,role,teams\n${uniqueEmail()},editor,Support|Nope;support`);
    expect(teams.body.rows[0]!.errors).toEqual([
      { code: 'team_unknown', field: 'teams', message: 'No team named “Nope”' },
    ]);
  });

  it('finds custom roles by name and reads back an edited export (the formula guard taken off)', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const role = await api.post<{ id: string }>(
      '/roles',
      { name: '+Support', description: '', icon: 'star', permissions: ['talk.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);
    const fresh = uniqueEmail('fresh');
    const exported = (await exportCsv(owner)).text;
    const edited = `${exported}${['', 'Fresh', fresh, "'+Support", 'no', 'no', 'invited', '', '', 'yes', '', '', '', ''].join(',')}\n`;
    const reply = await importCsv(owner, edited);
    expect(reply.status).toBe(200);
    expect(errorCodes(reply.body)).toEqual([['already_member'], []]);
    expect(reply.body.rows[1]).toMatchObject({
      email: fresh,
      role: { id: role.body.id, name: '+Support' },
      agentAccess: true,
    });
  });

  it('refuses a file it cannot use as a whole: empty, no email or role column, unreadable, over 1,000 rows, over 1 MB', async () => {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const rows = (n: number) =>
      ['email,role', ...Array.from({ length: n }, (_, i) => `p${i}@bulk.test,Editor`)].join('\n');
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['\n\n', /empty/],
      ['email,role\n', /no invitations/],
      ['name,role\nx,Editor', /no email column/],
      ['email,team\nx@y.test,A', /no role column/],
      ['email,Email,role\na@b.test,a@b.test,Editor', /twice/],
      ['email,role\n"a@b.test,Editor', /cannot be read/],
      [rows(1001), /At most 1,000/],
    ];
    for (const [csv, message] of cases) {
      for (const dryRun of [true, false]) {
        const reply = await importCsv<{ error: { code: string; details: { fields: { csv: string[] } } } }>(
          owner,
          csv,
          dryRun,
        );
        expect(reply.status, csv.slice(0, 30)).toBe(400);
        expect(reply.body.error.code).toBe('VALIDATION_FAILED');
        expect(reply.body.error.details.fields.csv[0]).toMatch(message);
      }
    }
    const big = await importCsv<{ error: { code: string } }>(owner, `email,role\n${'x'.repeat(1024 * 1024)}`);
    expect(big.status).toBe(400);
    expect(big.body.error.code).toBe('VALIDATION_FAILED');
    const huge = await api.request('POST', '/users/import?dryRun=true', undefined, {
      token: owner.token,
      raw: JSON.stringify({ csv: 'x'.repeat(4 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(isErrorShape(huge.body)).toBe(true);

    const thousand = await importCsv(owner, rows(1000));
    expect(thousand.status).toBe(200);
    expect(thousand.body).toMatchObject({ invitations: 1000, rowsWithErrors: 0, seats: { used: 1001, invited: 1000 } });
    expect(await memberCount(owner.account.id)).toBe(1);
  }, 60_000);

  it('sends nothing while any row has an error (400 with the rows), then everything once fixed: one invitation, mail and entry per row', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const [support, sales] = await enableTeams(owner, ['Support', 'Sales']);
    const [a, b, c] = [uniqueEmail('a'), uniqueEmail('b'), uniqueEmail('c')];
    const broken = `email,role,agent access,teams\n${a},Editor,yes,Support\n${b},Nobody,no,\n${c},Read only,0,Support;Sales\n`;
    const seqBefore = await activityActions(app, owner.account.id);
    const refused = await importCsv<{
      error: { code: string; details: { rows: { line: number; errors: { code: string }[] }[] } };
    }>(owner, broken, false);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    expect(refused.body.error.details.rows).toEqual([
      expect.objectContaining({ line: 3, errors: [expect.objectContaining({ code: 'role_unknown' })] }),
    ]);
    expect(await activityActions(app, owner.account.id)).toEqual(seqBefore);
    expect(await memberCount(owner.account.id)).toBe(1);
    expect(mailsTo(app.config.dataDir, a)).toEqual([]);

    const fixed = broken.replace('Nobody', 'Admin');
    const sent = await importCsv<ImportResultDto>(owner, fixed, false);
    expect(sent.status).toBe(201);
    expect(
      sent.body.items.map((m) => [m.email, m.status, m.role.id, m.agentAccess, m.teams.map((t) => t.id).sort()]),
    ).toEqual([
      [a, 'invited', ROLE.editor, true, [support!.id]],
      [b, 'invited', ROLE.admin, false, []],
      [c, 'invited', ROLE.readonly, false, [support!.id, sales!.id].sort()],
    ]);
    await app.mailSettled();
    for (const email of [a, b, c]) expect(mailsTo(app.config.dataDir, email)).toHaveLength(1);
    const log = await api.get<PageDto<ActivityEntryDto>>('/activity?action=user.invited', { token: owner.token });
    const entries = log.body.items.filter((entry) => [a, b, c].includes(entry.target.label ?? ''));
    expect(entries).toHaveLength(3);
    expect(new Set(entries.map((entry) => (entry.changes?.['csvImport'] as { id: string }).id))).toEqual(
      new Set([sent.body.importId]),
    );
    const account = await api.get<AccountDto>('/account', { token: owner.token });
    expect(account.body.seats).toMatchObject({ used: 4, invited: 3 });
    // The same file again: every row is a member now.
    const again = await importCsv(owner, fixed);
    expect(errorCodes(again.body)).toEqual([['already_member'], ['already_member'], ['already_member']]);
  });

  it('fits the whole file in the plan’s seats and agent seats or sends nothing (409)', async () => {
    const owner = await createAccount(api, { plan: 'free' });
    // Free: 3 seats (the owner holds one), 1 agent seat.
    const [a, b, c] = [uniqueEmail('a'), uniqueEmail('b'), uniqueEmail('c')];
    const seats = await importCsv(owner, `email,role\n${a},Editor\n${b},Editor\n${c},Editor`);
    expect(errorCodes(seats.body)).toEqual([[], [], ['seat_limit']]);
    expect(seats.body.wouldFail).toMatchObject({ code: 'SEAT_LIMIT_REACHED' });
    const refused = await importCsv<{ error: { code: string; details: { rows: { line: number }[] } } }>(
      owner,
      `email,role\n${a},Editor\n${b},Editor\n${c},Editor`,
      false,
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'SEAT_LIMIT_REACHED', details: { rows: [{ line: 4 }] } });

    const agents = await importCsv(owner, `email,role,talk access\n${a},Editor,yes\n${b},Editor,true`);
    expect(errorCodes(agents.body)).toEqual([[], ['agent_seat_limit']]);
    expect(agents.body.wouldFail).toMatchObject({ code: 'AGENT_SEAT_LIMIT_REACHED' });
    expect((await importCsv(owner, `email,role,talk access\n${a},Editor,yes\n${b},Editor,true`, false)).status).toBe(
      409,
    );
    expect(await memberCount(owner.account.id)).toBe(1);

    const fits = await importCsv<ImportResultDto>(
      owner,
      `email,role,talk access\n${a},Editor,yes\n${b},Editor,no`,
      false,
    );
    expect(fits.status).toBe(201);
    expect(await memberCount(owner.account.id)).toBe(3);
  });

  it('needs users.manage and keeps to the caller’s account', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const editor = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
    const denied = await importCsv(editor, `email,role\n${uniqueEmail()},Editor`, false);
    expect(denied.status).toBe(403);
    const other = await createAccount(api, { plan: 'starter' });
    const theirs = uniqueEmail('theirs');
    await invite(api, other, [theirs]);
    const mine = await importCsv(owner, `email,role\n${theirs},Editor`);
    expect(errorCodes(mine.body)).toEqual([[]]);
  });
});
