/**
 * CSV export of the member list and CSV import of invitations (issue 17 §3).
 */
import { z } from 'zod';
import type { AgentSeatUsage, DryRunDto, MemberDto, RoleRef, SeatUsage, TeamRef } from './dto.js';
import { MAX_IMPORT_BYTES } from './limits.js';
import { listMembersQuerySchema } from './schemas.js';

export { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from './limits.js';

/** `GET /users/export`: the list's filters and sort (no paging: every matching member), as CSV. */
export const exportMembersQuerySchema = listMembersQuerySchema.omit({ cursor: true, limit: true }).extend({
  format: z.enum(['csv'], 'Use csv').default('csv'),
});
export type ExportMembersQuery = z.input<typeof exportMembersQuerySchema>;

/** The export's header row, in order (the import reads `Email`, `Role`, `Talk access` and `Teams` back). */
export const MEMBER_EXPORT_COLUMNS = [
  'ID',
  'Name',
  'Email',
  'Role',
  'Owner',
  'Billing contact',
  'Status',
  '2FA',
  'Enforced sign-in',
  'Talk access',
  'Teams',
  'Invited',
  'Joined',
  'Last active',
] as const;

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** `POST /users/import`: the CSV text itself (a file's content, or pasted). */
export const importInvitationsSchema = z.strictObject({
  csv: z
    .string()
    .max(MAX_IMPORT_BYTES, 'At most 1 MB of CSV')
    .refine((text) => utf8Bytes(text) <= MAX_IMPORT_BYTES, 'At most 1 MB of CSV'),
});
export type ImportInvitationsRequest = z.input<typeof importInvitationsSchema>;

/** Why a row of an import cannot be sent. */
export const IMPORT_ROW_ERRORS = [
  'email_missing',
  'email_invalid',
  'duplicate',
  'already_member',
  'role_missing',
  'role_unknown',
  'agent_access_invalid',
  'team_unknown',
  'teams_disabled',
  'too_many_teams',
  'seat_limit',
  'agent_seat_limit',
] as const;
export type ImportRowErrorCode = (typeof IMPORT_ROW_ERRORS)[number];

export interface ImportRowErrorDto {
  code: ImportRowErrorCode;
  /** The column it is about: `email`, `role`, `agentAccess`, `teams` (seats: `row`). */
  field: 'email' | 'role' | 'agentAccess' | 'teams' | 'row';
  message: string;
}

/** One data row of the file as read, with what it resolved to and everything wrong with it. */
export interface ImportRowDto {
  /** The file's line the row starts on (the header is line 1). */
  line: number;
  /** Normalised (trimmed, lower-cased) when it is a valid address; as written otherwise. */
  email: string;
  /** The role the `role` cell names (by name, case-insensitively); null when none matches. */
  role: RoleRef | null;
  agentAccess: boolean;
  teams: TeamRef[];
  errors: ImportRowErrorDto[];
}

/** `?dryRun=true`: every row with its errors, the usage after the rows without errors, and what the real import would refuse. */
export interface ImportPreviewDto extends DryRunDto {
  rows: ImportRowDto[];
  /** Rows without errors: what would be sent. */
  invitations: number;
  /** Rows with at least one error; the real import refuses the whole file while any remain. */
  rowsWithErrors: number;
  seats: SeatUsage;
  agentSeats: AgentSeatUsage;
}

/** 201: one invitation per row, in the file's order, with the id shared by their activity entries. */
export interface ImportResultDto {
  importId: string;
  items: MemberDto[];
}
