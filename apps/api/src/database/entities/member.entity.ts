import type { MemberStatus } from '@rolecall/contracts';
import { Column, Entity, Index } from 'typeorm';
import { FlagColumn, IdColumn, ReferenceColumn, TimestampColumn, VersionCounterColumn } from './columns.js';

/** A person's membership in an account (SPEC §4). Invited members have an email but maybe no person yet. */
@Entity('members')
@Index('ux_members_account_email', ['accountId', 'email'], { unique: true })
@Index('ix_members_account_status_agent', ['accountId', 'status', 'agentAccess'])
@Index('ix_members_person', ['personId'])
@Index('ix_members_account_person', ['accountId', 'personId'])
export class MemberEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @ReferenceColumn('person_id', { nullable: true })
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

  @ReferenceColumn('role_id')
  roleId!: string;

  @FlagColumn('agent_access')
  agentAccess!: boolean;

  @ReferenceColumn('invited_by_member_id', { nullable: true })
  invitedByMemberId!: string | null;

  @TimestampColumn('invited_at', { nullable: true })
  invitedAt!: string | null;

  @TimestampColumn('joined_at', { nullable: true })
  joinedAt!: string | null;

  @TimestampColumn('last_active_at', { nullable: true })
  lastActiveAt!: string | null;

  /** Grows whenever the member's effective permission set changes. */
  @VersionCounterColumn('permissions_version')
  permissionsVersion!: number;

  @VersionCounterColumn()
  version!: number;

  /** The identity provider's id of the person, as SCIM sent it (issue 16 §2); null otherwise. */
  @Column({ name: 'external_id', type: 'varchar', length: 255, nullable: true })
  externalId!: string | null;

  /** SCIM made this membership: its first sign-in through the account's provider needs no invitation. */
  @FlagColumn('scim_provisioned')
  scimProvisioned!: boolean;

  @TimestampColumn('created_at')
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
