import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
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
