import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { MemberEntity, syncSortKeys } from './entities/member.entity.js';
import { PersonEntity } from './entities/person.entity.js';

/**
 * A new person, inserted. `emailVerified`: whether making it proved the mailbox (an invitation
 * token, a provider that vouches for the email) — a sign-up does not.
 */
export async function insertPerson(
  manager: EntityManager,
  input: { email: string; name: string; passwordHash: string | null; emailVerified: boolean; now: string },
): Promise<PersonEntity> {
  const person = manager.getRepository(PersonEntity).create({
    id: randomUUID(),
    email: input.email,
    name: input.name,
    passwordHash: input.passwordHash,
    avatarUrl: null,
    totpSecret: null,
    totpPendingSecret: null,
    totpLastStep: null,
    recoveryCodes: null,
    emailVerified: input.emailVerified,
    passwordResetRequired: false,
    twoFactorEnrolmentRequired: false,
    createdAt: input.now,
  });
  await manager.getRepository(PersonEntity).insert(person);
  return person;
}

/**
 * An invited member joins as `person` (an invitation accepted with a password or through a
 * provider): active from `now`, the person's name on the membership (sort and search keys kept in
 * step), and a new version and permission-set version (its permissions start now). Changes `member`
 * in place and writes it.
 */
export async function joinAsPerson(
  manager: EntityManager,
  member: MemberEntity,
  person: PersonEntity,
  now: string,
): Promise<void> {
  Object.assign(member, {
    personId: person.id,
    name: person.name,
    status: 'active',
    joinedAt: now,
    lastActiveAt: now,
    version: member.version + 1,
    permissionsVersion: member.permissionsVersion + 1,
  });
  syncSortKeys(member);
  await manager.getRepository(MemberEntity).update(
    { id: member.id },
    {
      personId: person.id,
      name: person.name,
      status: 'active',
      joinedAt: now,
      lastActiveAt: now,
      sortName: member.sortName,
      searchName: member.searchName,
      lastActiveSort: member.lastActiveSort,
      version: member.version,
      permissionsVersion: member.permissionsVersion,
    },
  );
}

/**
 * A new membership that has not joined yet (an invitation, or a user an identity provider
 * provisioned): invited `now`, never active, its versions at 1, sort and search keys set; inserted.
 */
export async function insertMember(
  manager: EntityManager,
  fields: Pick<
    MemberEntity,
    'accountId' | 'personId' | 'email' | 'name' | 'status' | 'roleId' | 'agentAccess' | 'invitedByMemberId'
  > &
    Partial<Pick<MemberEntity, 'externalId' | 'scimProvisioned'>>,
  now: string,
): Promise<MemberEntity> {
  const member = manager.getRepository(MemberEntity).create({
    id: randomUUID(),
    ...fields,
    invitedAt: now,
    joinedAt: null,
    lastActiveAt: null,
    permissionsVersion: 1,
    version: 1,
    createdAt: now,
  });
  syncSortKeys(member);
  await manager.getRepository(MemberEntity).insert(member);
  return member;
}
