import { SYSTEM_ROLES, type MemberStatus } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Database } from '../../../apps/api/src/database/database.service.js';
import { searchNameOf } from '../../../apps/api/src/database/entities/member.entity.js';

/**
 * Bulk seeding of one account's members straight into the app's tables (through the app's own
 * DataSource, inside `Database.transaction`), with chunked multi-row INSERTs that work on SQLite
 * and PostgreSQL. Every NOT NULL column is filled, and the denormalised sort keys follow
 * `syncSortKeys` (apps/api/src/members/member.entity.ts): `sort_name` = lower(name ?? email),
 * `last_active_sort` = last_active_at ?? '', `search_name` = `searchNameOf(name)`. Every other Maria,
 * Ines, Chloe and Zoe is written with an accent (María, Inês, Chloé, Zoë; the email stays ASCII), so
 * searches fold accents too; the PRNG draws are as before.
 */

const FIRST = (
  'Aaron Abigail Adam Aisha Alba Alex Amara Amir Ana Anton Astrid Ben Bianca Bruno Carla Carlos Chen ' +
  'Chloe Dana Daniel Dmitri Elena Emil Emma Farah Felix Fatima Gabriel Grace Hana Hugo Ines Ivan Jade ' +
  'James Jonas Julia Kai Kenji Lara Leo Lina Lucas Maria Marco Mark Martin Maya Mia Nadia Noah Nora ' +
  'Omar Oscar Paula Pedro Priya Quinn Rafael Rosa Sam Sara Sofia Tariq Theo Uma Victor Wei Xavier Yara ' +
  'Yusuf Zoe'
).split(' ');
const LAST = (
  'Abbott Adler Bauer Becker Brown Castro Chen Costa Dubois Duarte Eriksen Fischer Garcia Gomez Hansen ' +
  'Haddad Ito Jensen Kim Kowalski Larsen Lopez Martin Meyer Moreau Nakamura Novak Olsen Patel Petrov ' +
  'Quinn Rossi Santos Schmidt Silva Smith Tanaka Torres Urban Vogel Wagner Walsh Weber Xu Yamamoto ' +
  'Young Zhang Zimmer'
).split(' ');

/** How every other one of these first names is written (by the row's index, not a PRNG draw). */
const ACCENTED: Record<string, string> = { Maria: 'María', Ines: 'Inês', Chloe: 'Chloé', Zoe: 'Zoë' };

/** A deterministic PRNG (mulberry32), so every run seeds the same names, roles and statuses. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeedInput {
  accountId: string;
  ownerMemberId: string;
  teamIds: string[];
  members: number;
  /** The members' email domain (default example.com): a second account seeded in the same database needs another, persons' emails being unique. */
  emailDomain?: string;
}

export interface SeedSummary {
  members: number;
  persons: number;
  memberTeams: number;
  byStatus: Record<MemberStatus, number>;
  byRole: Record<string, number>;
  ms: number;
}

const [ADMIN, EDITOR, READONLY] = SYSTEM_ROLES.map((role) => role.id) as [string, string, string];

const PERSON_COLUMNS = ['id', 'email', 'name', 'password_hash', 'avatar_url', 'created_at'] as const;
const MEMBER_COLUMNS = [
  'id',
  'account_id',
  'person_id',
  'email',
  'name',
  'sort_name',
  'search_name',
  'last_active_sort',
  'status',
  'role_id',
  'agent_access',
  'invited_by_member_id',
  'invited_at',
  'joined_at',
  'last_active_at',
  'permissions_version',
  'version',
  'created_at',
] as const;
const MEMBER_TEAM_COLUMNS = ['member_id', 'team_id'] as const;

type Row = (string | number | boolean | null)[];

/** One multi-row INSERT per chunk; placeholders in the dialect of the database. */
async function insertRows(
  manager: EntityManager,
  postgres: boolean,
  table: string,
  columns: readonly string[],
  rows: Row[],
) {
  // SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535.
  const perChunk = Math.floor(30_000 / columns.length);
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const params: Row = [];
    const tuples = chunk.map((row) => {
      const marks = row.map((value) => {
        params.push(!postgres && typeof value === 'boolean' ? Number(value) : value);
        return postgres ? `$${params.length}` : '?';
      });
      return `(${marks.join(', ')})`;
    });
    await manager.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

/** Seeds `members` members (about 75% active, 15% invited, 10% revoked; three system roles; teams). */
export async function seedMembers(db: Database, input: SeedInput): Promise<SeedSummary> {
  const started = performance.now();
  const random = prng(20_241_127);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const postgres = db.kind === 'postgres';
  const now = Date.now();
  const day = 86_400_000;

  const persons: Row[] = [];
  const members: Row[] = [];
  const memberTeams: Row[] = [];
  const byStatus: Record<MemberStatus, number> = { active: 0, invited: 0, revoked: 0 };
  const byRole: Record<string, number> = { admin: 0, editor: 0, readonly: 0 };

  for (let i = 0; i < input.members; i += 1) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = `${first}.${last}.${i}@${input.emailDomain ?? 'example.com'}`.toLowerCase();
    const roll = random();
    const status: MemberStatus = roll < 0.75 ? 'active' : roll < 0.9 ? 'invited' : 'revoked';
    const roleRoll = random();
    const roleId = roleRoll < 0.03 ? ADMIN : roleRoll < 0.5 ? EDITOR : READONLY;
    byStatus[status] += 1;
    byRole[roleId === ADMIN ? 'admin' : roleId === EDITOR ? 'editor' : 'readonly']! += 1;

    const createdMs = now - Math.floor(random() * 730 * day);
    const createdAt = new Date(createdMs).toISOString();
    const joinedAt = status === 'invited' ? null : new Date(createdMs + Math.floor(random() * 3 * day)).toISOString();
    const neverActive = status === 'invited' || random() < 0.05;
    const lastActiveAt =
      neverActive || !joinedAt
        ? null
        : new Date(Math.min(now, Date.parse(joinedAt) + Math.floor(random() * 400 * day))).toISOString();

    let personId: string | null = null;
    let name: string | null = null;
    if (status !== 'invited') {
      personId = randomUUID();
      name = `${i % 2 === 0 ? (ACCENTED[first] ?? first) : first} ${last}`;
      persons.push([personId, email, name, null, null, createdAt]);
    }
    const memberId = randomUUID();
    members.push([
      memberId,
      input.accountId,
      personId,
      email,
      name,
      (name ?? email).toLowerCase().slice(0, 254),
      searchNameOf(name),
      lastActiveAt ?? '',
      status,
      roleId,
      random() < 0.15,
      input.ownerMemberId,
      createdAt,
      joinedAt,
      lastActiveAt,
      1,
      1,
      createdAt,
    ]);
    if (input.teamIds.length > 0) {
      const teamRoll = random();
      const teams = teamRoll < 0.5 ? 0 : teamRoll < 0.85 ? 1 : 2;
      const offset = Math.floor(random() * input.teamIds.length);
      for (let t = 0; t < teams && t < input.teamIds.length; t += 1) {
        memberTeams.push([memberId, input.teamIds[(offset + t) % input.teamIds.length]!]);
      }
    }
  }

  await db.transaction(async ({ manager }) => {
    await insertRows(manager, postgres, 'persons', PERSON_COLUMNS, persons);
    await insertRows(manager, postgres, 'members', MEMBER_COLUMNS, members);
    await insertRows(manager, postgres, 'member_teams', MEMBER_TEAM_COLUMNS, memberTeams);
  });

  return {
    members: members.length,
    persons: persons.length,
    memberTeams: memberTeams.length,
    byStatus,
    byRole,
    ms: performance.now() - started,
  };
}
