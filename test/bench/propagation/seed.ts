import { SYSTEM_ROLES } from '@rolecall/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EntityManager } from 'typeorm';
import { sha256Hex } from '../../../apps/api/src/common/tokens.js';
import type { Database } from '../../../apps/api/src/database/database.service.js';

/**
 * Seeds one account's connected population straight into the app's tables (persons, members,
 * sessions) inside one `Database.transaction`: signing 10,000 people in through scrypt would take
 * minutes. Sessions carry a fresh random token (43 base64url characters, as `newToken`) of which
 * the database keeps only the SHA-256, `last_seen_at` = now (no idle expiry, no touch on the
 * handshake for a minute) and `expires_at` = now + the absolute lifetime.
 *
 * The population, for N sockets:
 *   dashboards  the owner's own session + DASHBOARDS−1 admin members (1 session each): the
 *               `account:<id>` room (admins hold `users.view`)
 *   roleTarget  one editor with 3 sessions whose role flips editor ↔ read only in (a)
 *   revokeTargets  REVOKE_ROUNDS editors with 3 sessions each, one revoked per round of (c)
 *   regulars    everyone else, 1 session each; the custom role goes to half of all members
 */

const [ADMIN, EDITOR, READONLY] = SYSTEM_ROLES.map((role) => role.id) as [string, string, string];

interface SeededSocket {
  token: string;
  sessionId: string;
  memberId: string;
  /** In the account room (an admin). */
  dashboard: boolean;
}

export interface SeededMember {
  id: string;
  roleId: string;
  version: number;
  permissionsVersion: number;
  /** Indices into `sockets`. */
  sockets: number[];
}

export interface Population {
  sockets: SeededSocket[];
  dashboards: number[];
  roleTarget: SeededMember;
  revokeTargets: SeededMember[];
  /** Members holding the custom role (all have one socket). */
  roleHolders: SeededMember[];
  members: number;
  ms: number;
}

type Row = (string | number | boolean | null)[];

const PERSON_COLUMNS = ['id', 'email', 'name', 'password_hash', 'avatar_url', 'created_at'];
const MEMBER_COLUMNS = [
  'id',
  'account_id',
  'person_id',
  'email',
  'name',
  'sort_name',
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
];
const SESSION_COLUMNS = [
  'id',
  'token_hash',
  'person_id',
  'account_id',
  'auth_method',
  'ip',
  'user_agent',
  'created_at',
  'last_seen_at',
  'expires_at',
  'revoked_at',
  'revoked_reason',
];

async function insertRows(
  manager: EntityManager,
  postgres: boolean,
  table: string,
  columns: readonly string[],
  rows: Row[],
): Promise<void> {
  const perChunk = Math.floor(30_000 / columns.length);
  for (let start = 0; start < rows.length; start += perChunk) {
    const params: Row = [];
    const tuples = rows.slice(start, start + perChunk).map((row) => {
      const marks = row.map((value) => {
        params.push(value);
        return postgres ? `$${params.length}` : '?';
      });
      return `(${marks.join(', ')})`;
    });
    await manager.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

export interface SeedInput {
  accountId: string;
  owner: { memberId: string; token: string; sessionId: string };
  customRoleId: string;
  sockets: number;
  dashboards: number;
  revokeRounds: number;
  sessionAbsoluteMs: number;
  /** Part of every seeded email (persons' emails are unique across accounts): a second population needs its own. */
  emailTag?: string;
}

export async function seedPopulation(db: Database, input: SeedInput): Promise<Population> {
  const started = performance.now();
  const postgres = db.kind === 'postgres';
  const now = new Date().toISOString();
  const expires = new Date(Date.now() + input.sessionAbsoluteMs).toISOString();
  const persons: Row[] = [];
  const members: Row[] = [];
  const sessions: Row[] = [];
  const sockets: SeededSocket[] = [
    { token: input.owner.token, sessionId: input.owner.sessionId, memberId: input.owner.memberId, dashboard: true },
  ];
  let n = 0;

  const addMember = (roleId: string, sessionCount: number, dashboard: boolean): SeededMember => {
    n += 1;
    const personId = randomUUID();
    const memberId = randomUUID();
    const email = `bench.${input.emailTag ?? ''}${n}@example.com`;
    const name = `Bench Person ${n}`;
    persons.push([personId, email, name, null, null, now]);
    members.push([
      memberId,
      input.accountId,
      personId,
      email,
      name,
      name.toLowerCase(),
      now,
      'active',
      roleId,
      postgres ? false : 0,
      input.owner.memberId,
      now,
      now,
      now,
      1,
      1,
      now,
    ]);
    const member: SeededMember = { id: memberId, roleId, version: 1, permissionsVersion: 1, sockets: [] };
    for (let s = 0; s < sessionCount; s += 1) {
      const token = randomBytes(32).toString('base64url');
      const sessionId = randomUUID();
      sessions.push([
        sessionId,
        sha256Hex(token),
        personId,
        input.accountId,
        'password',
        '127.0.0.1',
        'propagation-bench',
        now,
        now,
        expires,
        null,
        null,
      ]);
      member.sockets.push(sockets.length);
      sockets.push({ token, sessionId, memberId, dashboard });
    }
    return member;
  };

  for (let i = 1; i < input.dashboards; i += 1) addMember(ADMIN, 1, true);
  const roleTarget = addMember(EDITOR, 3, false);
  const revokeTargets = Array.from({ length: input.revokeRounds }, () => addMember(EDITOR, 3, false));
  const regularCount = input.sockets - sockets.length;
  if (regularCount < 2) throw new Error(`${input.sockets} sockets are too few for this population`);
  // Half of all members (owner included) hold the custom role; the other regulars alternate editor / read only.
  const totalMembers = 1 + n + regularCount;
  const holdersWanted = Math.floor(totalMembers / 2);
  const roleHolders: SeededMember[] = [];
  for (let i = 0; i < regularCount; i += 1) {
    const holds = i < holdersWanted;
    const member = addMember(holds ? input.customRoleId : i % 2 ? EDITOR : READONLY, 1, false);
    if (holds) roleHolders.push(member);
  }

  await db.transaction(async ({ manager }) => {
    await insertRows(manager, postgres, 'persons', PERSON_COLUMNS, persons);
    await insertRows(manager, postgres, 'members', MEMBER_COLUMNS, members);
    await insertRows(manager, postgres, 'sessions', SESSION_COLUMNS, sessions);
  });

  return {
    sockets,
    dashboards: sockets.flatMap((socket, index) => (socket.dashboard ? [index] : [])),
    roleTarget,
    revokeTargets,
    roleHolders,
    members: totalMembers,
    ms: performance.now() - started,
  };
}

/**
 * `seedPopulation` over a plain `pg` pool (benchmarks whose API runs in other processes): it needs
 * only `kind` and `transaction(({ manager }) => manager.query(...))`, here one pg transaction.
 */
export function pgSeeder(target: pg.Pool): Database {
  return {
    kind: 'postgres',
    transaction: async (
      work: (tx: { manager: { query: (sql: string, params: unknown[]) => Promise<unknown> } }) => Promise<void>,
    ) => {
      const connection = await target.connect();
      try {
        await connection.query('BEGIN');
        await work({ manager: { query: async (sql, params) => (await connection.query(sql, params)).rows } });
        await connection.query('COMMIT');
      } catch (error) {
        await connection.query('ROLLBACK');
        throw error;
      } finally {
        connection.release();
      }
    },
  } as unknown as Database;
}
