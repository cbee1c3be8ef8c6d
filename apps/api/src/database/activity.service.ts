import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
// The chain's hash: one function shared with the offline verifier of exports (`npm run verify-export`).
import { chainHash, hashedContent } from '@rolecall/contracts/activity-chain';
import { In, IsNull, type EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { Database, type Tx } from './database.service.js';
import { ActivityEntity } from './entities/activity.entity.js';
import { SqlParams } from './entity-columns.js';
import { newestFirstPage } from './newest-first-page.js';
import { AccountEntity } from './entities/account.entity.js';
import { MemberEntity } from './entities/member.entity.js';
import { PersonEntity } from './entities/person.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { TeamEntity } from './entities/team.entity.js';
import { plainIp, type ActivityEntryDto, type ActivityNames, type ActorKind, type PageDto } from '@rolecall/contracts';

/** Who did it, from where: taken from the request by the controller. */
export interface Actor {
  readonly memberId: string | null;
  readonly email: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /**
   * Who acted when it was not a member (issue 16): `scim` (an identity provider's SCIM client) or
   * `service_account` (a request made with an API key). Absent for members and the system.
   */
  readonly kind?: 'scim' | 'service_account';
  /** The display name of a non-member actor, as it is now: "SCIM (Okta)", a service account's name. */
  readonly name?: string;
}

export interface ActivityInput {
  readonly action: string;
  readonly target: { type: string; id: string | null; label: string | null };
  readonly changes?: Record<string, unknown> | null;
  /**
   * Names by id that `append` takes as given and does not look up: ones the database can no longer
   * tell (a member deleted in the same transaction), or ones the change holds as they are now (rows
   * it read in this transaction, under the account lock, and did not rename) — each spares a read.
   */
  readonly names?: ActivityNames;
}

/** The name an activity entry gives a member: its display name, else its email. */
export const activityNameOf = (member: Pick<MemberEntity, 'name' | 'email'>): string => member.name || member.email;

/** Where `ActivityNames` are kept: a key of the stored (hashed) `changes`, lifted out by `toActivityDto`. */
const NAMES_KEY = 'names';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The ids an entry's changes name, by the table that holds them: keys ending in `Id`/`Ids`
 * (`roleId`, `roleIds` → roles; `teamIds` → teams; `ownerId`, `billingContactId`, … → members),
 * in a `{ before, after }` pair or as the value itself.
 */
export function idsInChanges(changes: Record<string, unknown> | null | undefined): {
  members: string[];
  roles: string[];
  teams: string[];
} {
  const found = { members: new Set<string>(), roles: new Set<string>(), teams: new Set<string>() };
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (!/Ids?$/.test(key)) continue;
    const kind = /^roleIds?$/.test(key) ? 'roles' : /^teamIds?$/.test(key) ? 'teams' : 'members';
    const pair =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as { before?: unknown; after?: unknown })
        : null;
    for (const side of pair ? [pair.before, pair.after] : [value]) {
      for (const id of Array.isArray(side) ? side : [side])
        if (typeof id === 'string' && UUID.test(id)) found[kind].add(id);
    }
  }
  return { members: [...found.members], roles: [...found.roles], teams: [...found.teams] };
}

/** The id-valued changes of many entries, merged per key (for one names lookup). */
function mergedIds(inputs: readonly ActivityInput[]): Record<string, string[]> {
  const merged: Record<string, string[]> = {};
  for (const input of inputs) {
    if (input.target.type === 'member' && input.target.id) (merged['memberIds'] ??= []).push(input.target.id);
    const ids = idsInChanges(input.changes);
    (merged['roleIds'] ??= []).push(...ids.roles);
    (merged['teamIds'] ??= []).push(...ids.teams);
    (merged['memberIds'] ??= []).push(...ids.members);
  }
  for (const key of Object.keys(merged)) merged[key] = [...new Set(merged[key])];
  return merged;
}

/** An entry's hashed content: what `append` and `appendMany` write (the names go inside `changes`). */
function entryContent(
  account: AccountEntity,
  actor: Actor,
  input: ActivityInput,
  entry: { seq: number; at: string; names: ActivityNames },
) {
  const changes = Object.keys(entry.names).length
    ? { ...input.changes, [NAMES_KEY]: entry.names }
    : (input.changes ?? null);
  return {
    accountId: account.id,
    seq: entry.seq,
    at: entry.at,
    actorMemberId: actor.memberId,
    actorEmail: actor.email,
    actorKind: actor.kind ?? null,
    actorName: actor.kind ? (actor.name?.slice(0, 100) ?? null) : null,
    action: input.action,
    targetType: input.target.type,
    targetId: input.target.id,
    targetLabel: input.target.label?.slice(0, 300) ?? null,
    changes,
    ip: plainIp(actor.ip)?.slice(0, 64) ?? null,
    userAgent: actor.userAgent?.slice(0, 300) ?? null,
  };
}

/** The activity table's columns, in the order `writeEntries` binds them. */
const ENTRY_COLUMNS =
  'id, account_id, seq, at, actor_member_id, actor_email, actor_kind, actor_name, action, target_type, target_id, target_label, changes, ip, user_agent, prev_hash, hash';

/**
 * Writes `entries` (the next of the account's chain, in order) and moves the log head to the last of
 * them, in the row and in `account`. Plain multi-row INSERTs, for one entry as for thousands
 * (TypeORM's insert builds its SQL from the entity's metadata on every call, and for thousands costs
 * more than the writing): 17 columns a row, 1,000 rows a statement stay under SQLite's 32,766
 * parameters (and PostgreSQL's 65,535). On PostgreSQL the head's UPDATE rides in the last INSERT's
 * statement (a data-modifying WITH, run once whatever the INSERT does), one round trip fewer for
 * every mutation (issue 18: a role change was 13); SQLite has no such WITH, and its statements are
 * calls, not round trips.
 */
async function writeEntries(tx: Tx, account: AccountEntity, entries: readonly ActivityEntity[]): Promise<void> {
  const last = entries.at(-1);
  if (!last) return;
  const postgres = tx.kind === 'postgres';
  for (let i = 0; i < entries.length; i += 1000) {
    const params = new SqlParams(tx.manager.connection);
    const chunk = entries.slice(i, i + 1000);
    const head =
      postgres && chunk.at(-1) === last
        ? `WITH head AS (UPDATE accounts SET activity_seq = ${params.add(last.seq)}, activity_hash = ${params.add(last.hash)} WHERE id = ${params.add(account.id)}) `
        : '';
    const rows = chunk.map((e) => {
      const row = [
        e.id,
        e.accountId,
        e.seq,
        e.at,
        e.actorMemberId,
        e.actorEmail,
        e.actorKind,
        e.actorName,
        e.action,
        e.targetType,
        e.targetId,
        e.targetLabel,
        e.changes === null ? null : JSON.stringify(e.changes),
        e.ip,
        e.userAgent,
        e.prevHash,
        e.hash,
      ];
      return `(${row.map((value) => params.add(value ?? null)).join(', ')})`;
    });
    await tx.manager.query(`${head}INSERT INTO activity (${ENTRY_COLUMNS}) VALUES ${rows.join(', ')}`, params.values);
  }
  if (!postgres) {
    const params = new SqlParams(tx.manager.connection);
    await tx.manager.query(
      `UPDATE accounts SET activity_seq = ${params.add(last.seq)}, activity_hash = ${params.add(last.hash)} WHERE id = ${params.add(account.id)}`,
      params.values,
    );
  }
  account.activitySeq = last.seq;
  account.activityHash = last.hash;
}

/**
 * The audit log. `append` runs inside the mutation's transaction, after `Database.lockAccount`,
 * so seq is gap-free and the chain has one head per account.
 */
@Injectable()
export class ActivityService {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async append(tx: Tx, account: AccountEntity, actor: Actor, input: ActivityInput): Promise<ActivityEntity> {
    const seq = account.activitySeq + 1;
    const names = { ...(await this.namesOf(tx.manager, account.id, actor, input)), ...input.names };
    const content = entryContent(account, actor, input, { seq, at: this.clock.now().toISOString(), names });
    const prevHash = account.activityHash;
    const entry = tx.manager.getRepository(ActivityEntity).create({
      id: randomUUID(),
      ...content,
      prevHash,
      hash: chainHash(prevHash, hashedContent(content)),
    });
    await writeEntries(tx, account, [entry]);
    tx.publish({ type: 'activity.appended', entry });
    return entry;
  }

  /**
   * Many entries of one mutation at once (bulk actions, issue 17 §2): the same entries, chain and
   * `activity.appended` events as `append` called for each in turn, but the names of all of them
   * looked up together and the rows inserted in a few statements — 5,000 entries in one request.
   */
  async appendMany(
    tx: Tx,
    account: AccountEntity,
    actor: Actor,
    inputs: readonly ActivityInput[],
    options: { publish?: boolean } = {},
  ): Promise<ActivityEntity[]> {
    if (inputs.length === 0) return [];
    const { memberIds = [], ...others } = mergedIds(inputs);
    const known = await this.namesOf(tx.manager, account.id, actor, {
      action: '',
      target: { type: 'bulk', id: null, label: null },
      changes: others,
    });
    // Thousands of members: one statement with the ids as one parameter, no entity hydration.
    const postgres = tx.kind === 'postgres';
    const named = await tx.manager.query<{ id: string; name: string | null; email: string }[]>(
      `SELECT id, name, email FROM members WHERE account_id = ${postgres ? '$1' : '?'} AND ` +
        (postgres ? 'id = ANY($2)' : 'id IN (SELECT value FROM json_each(?))'),
      [account.id, postgres ? memberIds : JSON.stringify(memberIds)],
    );
    for (const member of named) known[member.id] = activityNameOf(member);
    const at = this.clock.now().toISOString();
    const entries: ActivityEntity[] = [];
    let prevHash = account.activityHash;
    let seq = account.activitySeq;
    for (const input of inputs) {
      seq += 1;
      const names: ActivityNames = {};
      const ids = idsInChanges(input.changes);
      for (const id of [actor.memberId, input.target.id, ...ids.members, ...ids.roles, ...ids.teams])
        if (id && known[id] !== undefined) names[id] = known[id];
      if (input.target.id && input.target.label && names[input.target.id] === undefined)
        names[input.target.id] = input.target.label;
      Object.assign(names, input.names);
      const content = entryContent(account, actor, input, { seq, at, names });
      const entry = Object.assign(new ActivityEntity(), {
        id: randomUUID(),
        ...content,
        prevHash,
        hash: chainHash(prevHash, hashedContent(content)),
      });
      prevHash = entry.hash;
      entries.push(entry);
    }
    await writeEntries(tx, account, entries);
    // `publish: false`: the caller publishes them (`activity.appended`), e.g. after its own event.
    if (options.publish !== false) for (const entry of entries) tx.publish({ type: 'activity.appended', entry });
    return entries;
  }

  /**
   * The display names, as they are now, of every id the entry names (`ActivityNames`): the actor's
   * member, the target (member, person, role or team) and the ids in its changes. A target the
   * transaction already deleted keeps the name its label gives.
   */
  private async namesOf(
    manager: EntityManager,
    accountId: string,
    actor: Actor,
    input: ActivityInput,
  ): Promise<ActivityNames> {
    const found = idsInChanges(input.changes);
    const target = input.target;
    if (actor.memberId) found.members.push(actor.memberId);
    if (target.id && target.type === 'member') found.members.push(target.id);
    if (target.id && target.type === 'role') found.roles.push(target.id);
    if (target.id && target.type === 'team') found.teams.push(target.id);
    // Ids the caller named are not looked up (its names win either way).
    const given = input.names ?? {};
    const unnamed = (list: string[]) => list.filter((id) => given[id] === undefined);
    const ids = { members: unnamed(found.members), roles: unnamed(found.roles), teams: unnamed(found.teams) };
    const names: ActivityNames = {};
    if (ids.members.length) {
      const members = await manager
        .getRepository(MemberEntity)
        .find({ select: { id: true, name: true, email: true }, where: { accountId, id: In(ids.members) } });
      for (const member of members) names[member.id] = activityNameOf(member);
    }
    if (ids.roles.length) {
      const roles = await manager.getRepository(RoleEntity).find({
        select: { id: true, name: true },
        where: [
          { accountId, id: In(ids.roles) },
          { accountId: IsNull(), id: In(ids.roles) },
        ],
      });
      for (const role of roles) names[role.id] = role.name;
    }
    if (ids.teams.length) {
      const teams = await manager
        .getRepository(TeamEntity)
        .find({ select: { id: true, name: true }, where: { accountId, id: In(ids.teams) } });
      for (const team of teams) names[team.id] = team.name;
    }
    if (target.id && target.type === 'person' && given[target.id] === undefined) {
      const person = await manager
        .getRepository(PersonEntity)
        .findOne({ select: { id: true, name: true, email: true }, where: { id: target.id } });
      if (person) names[person.id] = person.name || person.email;
    }
    if (
      target.id &&
      target.label &&
      names[target.id] === undefined &&
      ['member', 'role', 'team'].includes(target.type)
    ) {
      names[target.id] = target.label;
    }
    return names;
  }

  /** Entries newest first, filtered (actor member, target member, actions, time range), keyset by seq. */
  async list(
    accountId: string,
    query: {
      actor?: string | undefined;
      member?: string | undefined;
      action?: string[] | undefined;
      from?: string | undefined;
      to?: string | undefined;
      cursor?: string | undefined;
      limit: number;
    },
  ): Promise<PageDto<ActivityEntryDto>> {
    return this.db.read(async (manager) => {
      const q = manager
        .getRepository(ActivityEntity)
        .createQueryBuilder('a')
        .where('a.account_id = :accountId', { accountId });
      if (query.actor) q.andWhere('a.actor_member_id = :actor', { actor: query.actor });
      if (query.member) q.andWhere("a.target_type = 'member' AND a.target_id = :member", { member: query.member });
      if (query.action?.length) q.andWhere('a.action IN (:...actions)', { actions: query.action });
      if (query.from) q.andWhere('a.at >= :from', { from: new Date(query.from).toISOString() });
      if (query.to) q.andWhere('a.at < :to', { to: new Date(query.to).toISOString() });
      return newestFirstPage(q, 'seq', query, toActivityDto);
    });
  }

  /** Entries after `afterSeq`, oldest first (for catching up on missed events). */
  async since(accountId: string, afterSeq: number, limit: number): Promise<ActivityEntity[]> {
    return this.db.read((manager) =>
      manager
        .getRepository(ActivityEntity)
        .createQueryBuilder('a')
        .where('a.account_id = :accountId AND a.seq > :afterSeq', { accountId, afterSeq })
        .orderBy('a.seq', 'ASC')
        .limit(limit)
        .getMany(),
    );
  }

  /** Walks the chain from the first entry: `{ ok, checked, firstBadSeq }`. */
  async verify(accountId: string): Promise<{ ok: boolean; checked: number; firstBadSeq: number | null }> {
    const entries = await this.db.read((manager) =>
      manager.getRepository(ActivityEntity).find({ where: { accountId }, order: { seq: 'ASC' } }),
    );
    let prevHash = '';
    let expectedSeq = 1;
    for (const entry of entries) {
      const bad =
        entry.seq !== expectedSeq ||
        entry.prevHash !== prevHash ||
        entry.hash !== chainHash(prevHash, hashedContent(entry));
      if (bad) return { ok: false, checked: expectedSeq - 1, firstBadSeq: entry.seq };
      prevHash = entry.hash;
      expectedSeq += 1;
    }
    return { ok: true, checked: entries.length, firstBadSeq: null };
  }
}

/** The entry as the API answers it: its `ActivityNames` lifted out of `changes` into `names`. */
export function toActivityDto(entry: ActivityEntity): ActivityEntryDto {
  const names = entry.changes?.[NAMES_KEY];
  let changes = entry.changes;
  if (isNames(names)) {
    const { [NAMES_KEY]: _names, ...rest } = entry.changes!;
    changes = Object.keys(rest).length ? rest : null;
  }
  return {
    seq: entry.seq,
    at: entry.at,
    actor: {
      memberId: entry.actorMemberId,
      email: entry.actorEmail,
      ...(entry.actorKind ? { kind: entry.actorKind as ActorKind, name: entry.actorName } : {}),
    },
    action: entry.action,
    target: { type: entry.targetType, id: entry.targetId, label: entry.targetLabel },
    changes,
    ...(isNames(names) ? { names } : {}),
    ip: entry.ip,
    userAgent: entry.userAgent,
    hash: entry.hash,
    prevHash: entry.prevHash,
  };
}

function isNames(value: unknown): value is ActivityNames {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((name) => typeof name === 'string')
  );
}
