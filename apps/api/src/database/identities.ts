import type { AuthEnforcement, SsoProvider } from '@rolecall/contracts';
import { In, type EntityManager } from 'typeorm';
import type { SqlParams } from './entity-columns.js';
import { IdentityEntity } from './entities/identity.entity.js';

/** The identities that satisfy an account's enforcement: its provider, and for Okta the account's own issuer. */
export interface IdentityMatch {
  readonly provider: SsoProvider;
  /** null: any issuer (Google; Microsoft, whose issuer is per tenant). */
  readonly issuer: string | null;
}

export function enforcedIdentity(account: {
  authEnforcement: AuthEnforcement;
  oktaIssuer: string | null;
}): IdentityMatch | null {
  if (account.authEnforcement === 'any') return null;
  // Okta enforced without a stored issuer cannot be satisfied by any identity (the empty issuer never matches).
  return {
    provider: account.authEnforcement,
    issuer: account.authEnforcement === 'okta' ? (account.oktaIssuer ?? '') : null,
  };
}

/** The ones of `personIds` that have a matching identity (one query, for member lists). */
export async function personsWithIdentity(
  manager: EntityManager,
  personIds: readonly string[],
  match: IdentityMatch,
): Promise<Set<string>> {
  if (personIds.length === 0) return new Set();
  const rows = await manager.getRepository(IdentityEntity).find({
    where: {
      personId: In([...new Set(personIds)]),
      provider: match.provider,
      ...(match.issuer === null ? {} : { issuer: match.issuer }),
    },
    select: { personId: true },
  });
  return new Set(rows.map((row) => row.personId));
}

/** SQL for "the member's person has a matching identity", for the member list filter; `alias` is the members alias. */
export function identityExistsSql(alias: string, match: IdentityMatch, params: SqlParams): string {
  // Placeholders are numbered as they are added: add them in the order of the text.
  const provider = `i.provider = ${params.add(match.provider)}`;
  const issuer = match.issuer === null ? '' : ` AND i.issuer = ${params.add(match.issuer)}`;
  return `EXISTS (SELECT 1 FROM identities i WHERE i.person_id = ${alias}.person_id AND ${provider}${issuer})`;
}
