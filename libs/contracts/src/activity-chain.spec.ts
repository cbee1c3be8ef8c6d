import { describe, expect, it } from 'vitest';
import { activityHash, hashedContent, type ChainedEntry } from './activity-chain.js';

const entry: ChainedEntry = {
  accountId: 'a1',
  seq: 1,
  at: '2026-12-04T10:00:00.000Z',
  actorMemberId: null,
  actorEmail: null,
  action: 'user.revoked',
  targetType: 'member',
  targetId: 'm1',
  targetLabel: 'bob@x.test',
  changes: null,
  ip: null,
  userAgent: null,
};

describe('the activity chain', () => {
  it('hashes an entry without an actor kind exactly as before the kind existed', () => {
    expect(Object.keys(hashedContent({ ...entry, actorKind: null, actorName: null }))).not.toContain('actorKind');
    expect(activityHash('', { ...entry, actorKind: null, actorName: null })).toBe(activityHash('', entry));
    // The hash of this entry as the API computed it before issue 16 (sha256 of '' + RFC 8785 JSON).
    expect(activityHash('', entry)).toBe('d471adf85d536cbab5624423c55c170d7b1e58d9bd7ca86211a3e82f246a7820');
  });

  it('covers the actor kind and name when set, so neither can be changed unnoticed', () => {
    const scim = { ...entry, actorKind: 'scim', actorName: 'SCIM (Okta)' };
    expect(hashedContent(scim)).toMatchObject({ actorKind: 'scim', actorName: 'SCIM (Okta)' });
    expect(activityHash('', scim)).not.toBe(activityHash('', entry));
    expect(activityHash('', scim)).not.toBe(activityHash('', { ...scim, actorName: 'SCIM (Entra)' }));
  });

  it('chains: the same entry after another head hashes differently', () => {
    expect(activityHash('f'.repeat(64), entry)).not.toBe(activityHash('', entry));
  });
});
