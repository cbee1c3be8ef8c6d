import type { MemberStatus } from '@rolecall/contracts';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A person's membership in an account (SPEC §4). Invited members have an email but maybe no person yet. */
@Entity('members')
@Index('ux_members_account_email', ['accountId', 'email'], { unique: true })
@Index('ix_members_account_status_agent', ['accountId', 'status', 'agentAccess'])
@Index('ix_members_person', ['personId'])
@Index('ix_members_account_person', ['accountId', 'personId'])
export class MemberEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ name: 'person_id', type: 'varchar', length: 36, nullable: true })
  personId!: string | null;

  /** As invited (normalised); kept after deletion of the person for the audit trail. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  /** Denormalised from the person for sorting and prefix search; null while invited. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  name!: string | null;

  /** Lower-cased name, or email while there is no name: the `name` sort key (kept by `syncSortKeys`). */
  @Column({ name: 'sort_name', type: 'varchar', length: 254, default: '' })
  sortName!: string;

  /**
   * The name folded for search (`searchFold`: lower case, accents and other marks removed), '' while
   * invited: `q` of 3 characters or more matches any part of it or of the email (kept by `syncSortKeys`).
   */
  @Column({ name: 'search_name', type: 'varchar', length: 254, default: '' })
  searchName!: string;

  /** `last_active_at` or '' (never active): the `lastActiveAt` sort key. */
  @Column({ name: 'last_active_sort', type: 'varchar', length: 30, default: '' })
  lastActiveSort!: string;

  @Column({ type: 'varchar', length: 10 })
  status!: MemberStatus;

  @Column({ name: 'role_id', type: 'varchar', length: 36 })
  roleId!: string;

  @Column({ name: 'agent_access', type: 'boolean', default: false })
  agentAccess!: boolean;

  @Column({ name: 'invited_by_member_id', type: 'varchar', length: 36, nullable: true })
  invitedByMemberId!: string | null;

  @Column({ name: 'invited_at', type: 'varchar', length: 30, nullable: true })
  invitedAt!: string | null;

  @Column({ name: 'joined_at', type: 'varchar', length: 30, nullable: true })
  joinedAt!: string | null;

  @Column({ name: 'last_active_at', type: 'varchar', length: 30, nullable: true })
  lastActiveAt!: string | null;

  /** Grows whenever the member's effective permission set changes. */
  @Column({ name: 'permissions_version', type: 'integer', default: 1 })
  permissionsVersion!: number;

  @Column({ type: 'integer', default: 1 })
  version!: number;

  /** The identity provider's id of the person, as SCIM sent it (issue 16 §2); null otherwise. */
  @Column({ name: 'external_id', type: 'varchar', length: 255, nullable: true })
  externalId!: string | null;

  /** SCIM made this membership: its first sign-in through the account's provider needs no invitation. */
  @Column({ name: 'scim_provisioned', type: 'boolean', default: false })
  scimProvisioned!: boolean;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}

/**
 * Text as search compares it: lower case, canonically decomposed with every combining mark removed
 * ("José" → "jose", "Ångström" → "angstrom"), recomposed, control characters as spaces (so a query
 * never holds the line breaks nothing else does). Letters without a decomposition stay ("ß", "ø").
 */
export function searchFold(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .normalize('NFC')
    .replace(/\p{Cc}/gu, ' ');
}

/** `search_name` for a member's name (null while invited). */
export function searchNameOf(name: string | null): string {
  return name === null ? '' : searchFold(name).slice(0, 254);
}

/** Keeps the denormalised sort and search keys in step with name, email and last activity. */
export function syncSortKeys(
  member: Pick<MemberEntity, 'name' | 'email' | 'lastActiveAt' | 'sortName' | 'searchName' | 'lastActiveSort'>,
): void {
  member.sortName = (member.name ?? member.email).toLowerCase().slice(0, 254);
  member.searchName = searchNameOf(member.name);
  member.lastActiveSort = member.lastActiveAt ?? '';
}
