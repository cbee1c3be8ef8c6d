import type { MemberPageDto } from '@rolecall/contracts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, invite, inviteAndAccept, PASSWORD, type SignedUp } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { invitationToken } from './support/outbox.js';

/**
 * `GET /users?q=` searched anywhere (issue 17 §1): 3+ characters match any part of the name or the
 * email, case- and accent-insensitive, prefix matches first; shorter ones stay prefixes.
 */

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const enterprise = () => createAccount(api, { plan: 'enterprise', name: 'Olga Owner' });
const hex = () => randomBytes(4).toString('hex');
/** A domain of this test's own, so only the members it makes match it. */
const domainOf = () => `d${hex()}.acme.test`;
const join = (owner: SignedUp, name: string, email: string) =>
  inviteAndAccept(api, app.config.dataDir, owner, { email, name });

async function search(owner: SignedUp, q: string, extra = ''): Promise<MemberPageDto> {
  const response = await api.get<MemberPageDto>(`/users?q=${encodeURIComponent(q)}&limit=200${extra}`, {
    token: owner.token,
  });
  expect(response.status, q).toBe(200);
  expect(response.body.total, q).toBe(response.body.items.length);
  return response.body;
}
const names = async (owner: SignedUp, q: string, extra = '') =>
  (await search(owner, q, extra)).items.map((m) => m.name ?? m.email);

describe('GET /users?q= anywhere in a name or email', () => {
  it('finds a part of the name or of the email, a domain, in any case and with or without accents', async () => {
    const owner = await enterprise();
    const domain = domainOf();
    const tag = hex();
    await join(owner, 'Bob Builder', `bob.${tag}@${domain}`);
    await join(owner, 'José Álvarez', `jalvarez.${tag}@${domain}`);
    await join(owner, 'Jose Plain', `plain.${tag}@example.com`);
    await join(owner, 'Zoë Ångström', `zoe.${tag}@example.com`);
    const invited = (await invite(api, owner, [`carol.${tag}@${domain}`])).body.items[0]!;

    expect(await names(owner, 'Builder')).toEqual(['Bob Builder']);
    expect(await names(owner, 'uild')).toEqual(['Bob Builder']);
    expect(await names(owner, 'BUILDER')).toEqual(['Bob Builder']);
    expect(await names(owner, 'b bui')).toEqual(['Bob Builder']); // across the space in a name
    // In the email: a local part's middle, the whole domain (an invitation has no name and is found by its email).
    expect(await names(owner, `alvarez.${tag}`)).toEqual(['José Álvarez']);
    // (An invitation sorts by its email: "carol…" between "bob builder" and "josé álvarez".)
    expect(await names(owner, domain)).toEqual(['Bob Builder', invited.email, 'José Álvarez']);
    expect(await names(owner, domain.toUpperCase())).toEqual(['Bob Builder', invited.email, 'José Álvarez']);
    // Accents both ways, and case with them.
    expect(await names(owner, 'jose')).toEqual(['Jose Plain', 'José Álvarez']);
    expect(await names(owner, 'JOSÉ')).toEqual(['Jose Plain', 'José Álvarez']);
    expect(await names(owner, 'alvarez')).toEqual(['José Álvarez']);
    expect(await names(owner, 'ÁLVAREZ')).toEqual(['José Álvarez']);
    expect(await names(owner, 'angstrom')).toEqual(['Zoë Ångström']);
    expect(await names(owner, 'zoe ång')).toEqual(['Zoë Ångström']);
    // A decomposed query (e + combining acute) finds the precomposed name too.
    expect(await names(owner, 'Jose\u0301')).toEqual(['Jose Plain', 'José Álvarez']);
    // A name and an email never join up: the end of the name followed by the start of the email matches nothing.
    expect(await names(owner, 'builderbob')).toEqual([]);
    expect(await names(owner, 'nobody-here')).toEqual([]);
  });

  it('keeps queries shorter than 3 characters as prefixes of the name or email', async () => {
    const owner = await enterprise();
    const tag = hex();
    await join(owner, 'Bob Builder', `bob.${tag}@example.com`);
    await join(owner, 'Ubu Roi', `ubu.${tag}@example.com`);
    expect(await names(owner, 'ui')).toEqual([]); // inside "Builder", but 2 characters: a prefix only
    expect(await names(owner, 'bo')).toEqual(['Bob Builder']);
    expect(await names(owner, 'UB')).toEqual(['Ubu Roi']);
    expect(await names(owner, 'uil')).toEqual(['Bob Builder']); // 3: anywhere
  });

  it('ranks prefix matches (of the name or the email) first, then the others, each group in the chosen sort', async () => {
    const owner = await enterprise();
    const tag = `k${hex()}`;
    // "mar" starts: a name, an email; "mar" inside: names, an email.
    await join(owner, 'Mark Prefix', `mp.${tag}@example.com`);
    await join(owner, 'Zed Email', `marz.${tag}@example.com`);
    await join(owner, 'Anna Omar', `ao.${tag}@example.com`);
    await join(owner, 'Bea Smart', `bs.${tag}@example.com`);
    await join(owner, 'Cy Email', `cy.mar.${tag}@example.com`);
    await join(owner, 'Unrelated Person', `up.${tag}@example.com`);
    const prefix = ['Mark Prefix', 'Zed Email'];
    const inside = ['Anna Omar', 'Bea Smart', 'Cy Email'];

    expect(await names(owner, 'mar')).toEqual([...prefix, ...inside]);
    expect(await names(owner, 'mar', '&sort=-name')).toEqual([...[...prefix].reverse(), ...[...inside].reverse()]);
    const byEmail = await names(owner, 'mar', '&sort=email');
    expect(byEmail.slice(0, 2).sort()).toEqual(prefix);
    expect(byEmail.slice(2)).toEqual(['Anna Omar', 'Bea Smart', 'Cy Email']);
    expect(await names(owner, 'mar', '&sort=createdAt')).toEqual([
      'Mark Prefix',
      'Zed Email',
      'Anna Omar',
      'Bea Smart',
      'Cy Email',
    ]);
    expect(await names(owner, 'mar', '&sort=-createdAt')).toEqual([
      'Zed Email',
      'Mark Prefix',
      'Cy Email',
      'Bea Smart',
      'Anna Omar',
    ]);
    // An accent-insensitive prefix is a prefix too.
    await join(owner, 'Márta Accent', `ma.${tag}@example.com`);
    expect(await names(owner, 'mar')).toEqual(['Mark Prefix', 'Márta Accent', 'Zed Email', ...inside]);
  });

  it('pages through a ranked result with the cursor, without repeats or gaps, with the total on every page', async () => {
    const owner = await enterprise();
    const tag = `p${hex()}`;
    const made: string[] = [];
    // 7 prefix matches and 8 others, names chosen so the groups interleave alphabetically.
    for (const [i, name] of [
      'Lin A',
      'Lin B',
      'Zz Lin',
      'Lina C',
      'Olin D',
      'Lin E',
      'Bolin F',
      'Linus G',
      'Ab Lin',
      'Collin H',
      'Lin I',
      'Merlin J',
      'Lind K',
      'Pelin L',
      'Xlin M',
    ].entries()) {
      made.push((await join(owner, name, `${tag}.${i}.${hex()}@example.com`)).member.id);
    }
    await join(owner, 'Nobody Else', `${tag}.x.${hex()}@example.com`);
    for (const sort of ['name', '-name', 'email', 'createdAt', '-lastActiveAt']) {
      const whole = await search(owner, 'lin', `&sort=${sort}`);
      expect(whole.total).toBe(15);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response: { status: number; body: MemberPageDto } = await api.get<MemberPageDto>(
          `/users?q=lin&limit=4&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { token: owner.token },
        );
        expect(response.status).toBe(200);
        expect(response.body.total).toBe(15);
        seen.push(...response.body.items.map((m) => m.id));
        cursor = response.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(pages, sort).toBe(4);
      expect(seen, sort).toEqual(whole.items.map((m) => m.id));
      expect([...seen].sort()).toEqual([...made].sort());
      // The prefix group first: every name that starts with "lin" before every one that does not.
      const starts = whole.items.map((m) => m.name!.toLowerCase().startsWith('lin'));
      expect(starts, sort).toEqual([...starts].sort((a, b) => Number(b) - Number(a)));
      expect(starts.filter(Boolean)).toHaveLength(7);
    }
    // A cursor made for one group and a tampered group are told apart from a bad cursor.
    const bad = Buffer.from(JSON.stringify(['lin a', made[0], 2])).toString('base64url');
    expect((await api.get(`/users?q=lin&cursor=${bad}`, { token: owner.token })).status).toBe(400);
  });

  it('takes %, _ and \\ literally', async () => {
    const owner = await enterprise();
    const tag = hex();
    for (const name of ['Ann 50% Off', 'Ann 50x Off', 'Ann a_b', 'Ann axb', 'Ann back\\slash', 'Ann backxslash']) {
      await join(owner, name, `w.${hex()}.${tag}@example.com`);
    }
    expect(await names(owner, '50%')).toEqual(['Ann 50% Off']);
    expect(await names(owner, '0% o')).toEqual(['Ann 50% Off']);
    expect(await names(owner, 'a_b')).toEqual(['Ann a_b']);
    expect(await names(owner, 'k\\s')).toEqual(['Ann back\\slash']);
    expect(await names(owner, '%%%')).toEqual([]);
    expect(await names(owner, '___')).toEqual([]);
    expect(await names(owner, '\\\\\\')).toEqual([]);
  });

  it('finds a renamed member and an accepted invitation by the new name', async () => {
    const owner = await enterprise();
    const tag = hex();
    const email = `renamed.${tag}@example.com`;
    const joined = await join(owner, 'Old Name', email);
    expect((await api.patch('/me', { name: 'Quentin Nouveau' }, { token: joined.token })).status).toBe(200);
    expect(await names(owner, 'nouveau')).toEqual(['Quentin Nouveau']);
    expect(await names(owner, 'old name')).toEqual([]);

    // An invitation is found by its email, then, once accepted, by the name given.
    const invitedEmail = `inv.${tag}@example.com`;
    const invited = (await invite(api, owner, [invitedEmail])).body.items[0]!;
    expect((await search(owner, `inv.${tag}`)).items.map((m) => m.id)).toEqual([invited.id]);
    expect(await names(owner, 'Wilhelmína')).toEqual([]);
    const accepted = await api.post('/invitations/accept', {
      token: invitationToken(app.config.dataDir, invitedEmail),
      name: 'Wilhelmína Accepted',
      password: PASSWORD,
    });
    expect(accepted.status).toBe(200);
    expect((await search(owner, 'wilhelmina')).items.map((m) => m.id)).toEqual([invited.id]);
    expect((await search(owner, `nv.${tag}`)).items.map((m) => m.id)).toEqual([invited.id]);
  });

  it("never shows another account's members", async () => {
    const first = await enterprise();
    const second = await enterprise();
    const domain = domainOf();
    await join(first, 'Tessa Tenant', `tessa@${domain}`);
    await join(second, 'Tessa Tenant', `tessa.two@${domain}`);
    for (const owner of [first, second]) {
      const page = await search(owner, domain);
      expect(page.total).toBe(1);
      expect(page.items[0]!.email.endsWith(domain)).toBe(true);
      expect((await search(owner, 'essa tenan')).total).toBe(1);
    }
    expect((await search(first, domain)).items[0]!.email).toBe(`tessa@${domain}`);
    expect((await search(second, domain)).items[0]!.email).toBe(`tessa.two@${domain}`);
  });
});
