import { Inject, Injectable } from '@nestjs/common';
import {
  emailSchema,
  MAX_IMPORT_ROWS,
  type ImportPreviewDto,
  type ImportResultDto,
  type ImportRowDto,
  type ImportRowErrorDto,
  type RoleRef,
  type TeamRef,
} from '@rolecall/contracts';
import { agentCost, planLimits, seatUsageAfter } from '@rolecall/domain';
import { CsvError, parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import { In, IsNull } from 'typeorm';
import type { AccountEntity } from '../database/entities/account.entity.js';
import { seatCount } from '../database/accounts.dto.js';
import { assertSeatsFor } from '../database/seats.js';
import { AccountMutations } from '../database/account-mutation.js';
import type { Actor } from '../database/activity.service.js';
import type { RequestAuth } from '../database/request-auth.js';
import { DomainError, validationFailed } from '../common/domain-error.js';
import { Database, type Tx } from '../database/database.service.js';
import { MailOutbox } from '../infra/mail-outbox.js';
import type { MemberEntity } from '../database/entities/member.entity.js';
import { publishMembersChanged } from '../database/committed-member.js';
import { MembersRepository } from '../database/members.repository.js';
import { PersonEntity } from '../database/entities/person.entity.js';
import { RoleEntity } from '../database/entities/role.entity.js';
import { TeamEntity } from '../database/entities/team.entity.js';
import { InvitationsService } from './invitations.service.js';

/** The columns an import reads, by their header normalised (lower case, letters and digits only). */
const HEADERS: Record<string, 'email' | 'role' | 'agentAccess' | 'teams'> = {
  email: 'email',
  emailaddress: 'email',
  role: 'role',
  rolename: 'role',
  agentaccess: 'agentAccess',
  talkaccess: 'agentAccess',
  agent: 'agentAccess',
  teams: 'teams',
  team: 'teams',
  talkteams: 'teams',
};

const YES = new Set(['yes', 'true', '1', 'y']);
const NO = new Set(['no', 'false', '0', 'n', '']);
/** As `PATCH /users/:id`'s `teamIds`. */
const MAX_TEAMS = 50;

/** A data row of the file, as written (cells trimmed, the export's formula guard taken off). */
export interface ParsedRow {
  line: number;
  email: string;
  role: string;
  agentAccess: string;
  teams: string[];
}

/** The export writes a `'` before a cell a spreadsheet would run as a formula: read it back without. */
function unguard(cell: string | undefined): string {
  const value = (cell ?? '').trim();
  return /^'[=+\-@\t\r]/.test(value) ? value.slice(1) : value;
}

const fileError = (message: string) => validationFailed({ csv: [message] }, message);

/**
 * Reads the CSV with csv-parse (RFC 4180 quoting, a UTF-8 BOM, CRLF or LF): the header row names the
 * columns (case-insensitively, in any order; other columns are ignored, so an export can be edited
 * and imported back), blank rows are skipped. What makes the file unusable as a whole — unreadable,
 * empty, no email or role column, more than 1,000 rows — is a 400 for the `csv` field.
 */
function parseImport(csv: string): ParsedRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(csv, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as typeof records;
  } catch (error) {
    if (error instanceof CsvError)
      throw fileError(
        `The CSV cannot be read (line ${(error as CsvError & { lines?: number }).lines ?? '?'}): ${error.message}`,
      );
    throw error;
  }
  const [header, ...data] = records;
  if (!header)
    throw fileError(
      'The file is empty: it needs a header row (email, role, agent access, teams) and one row per invitation',
    );
  const columns: Partial<Record<'email' | 'role' | 'agentAccess' | 'teams', number>> = {};
  header.record.forEach((name, index) => {
    const key =
      HEADERS[
        unguard(name)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '')
      ];
    if (!key) return;
    if (columns[key] !== undefined)
      throw fileError(`The header names the ${key === 'agentAccess' ? 'agent access' : key} column twice`);
    columns[key] = index;
  });
  if (columns.email === undefined)
    throw fileError('The header row has no email column (expected columns: email, role, agent access, teams)');
  if (columns.role === undefined)
    throw fileError('The header row has no role column (expected columns: email, role, agent access, teams)');
  const cell = (record: string[], key: keyof typeof columns) =>
    columns[key] === undefined ? '' : unguard(record[columns[key]]);
  const rows = data
    .filter(({ record }) => record.some((value) => value.trim() !== ''))
    .map(({ record, info }): ParsedRow => {
      // csv-parse counts the line a record ends on; a quoted cell may span lines.
      const breaks = record.reduce((sum, value) => sum + (value.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
      return {
        line: info.lines - breaks,
        email: cell(record, 'email'),
        role: cell(record, 'role'),
        agentAccess: cell(record, 'agentAccess'),
        teams: cell(record, 'teams')
          .split(/[;|]/)
          .map((team) => team.trim())
          .filter(Boolean),
      };
    });
  if (rows.length === 0) throw fileError('The file has a header row but no invitations');
  if (rows.length > MAX_IMPORT_ROWS)
    throw fileError(
      `At most ${MAX_IMPORT_ROWS.toLocaleString('en')} invitations per import; this file has ${rows.length.toLocaleString('en')}`,
    );
  return rows;
}

/** A row as validated: its DTO and, when it has no errors, what to create. */
interface CheckedRow {
  dto: ImportRowDto;
  roleId: string | null;
  teamIds: string[];
}

interface Checked {
  rows: CheckedRow[];
  /** The rows without errors. */
  valid: CheckedRow[];
  seats: { used: number; invited: number; agents: number };
}

/**
 * `POST /users/import` (issue 17 §3): invitations from a CSV, each row with its own role, agent access
 * and teams. `?dryRun=true` shows every row with its errors and the seats and cost after the rows that
 * have none; otherwise all or nothing under the account lock: a row with an error refuses the whole
 * file (400 with the rows), seats are checked for the whole file (409), and each row becomes an
 * invitation exactly as `POST /users/invitations` makes one (mail, `user.invited` entry, live event),
 * the entries sharing the import's id.
 */
@Injectable()
export class InvitationsImport {
  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(AccountMutations) private readonly mutations: AccountMutations,
    @Inject(InvitationsService) private readonly invitations: InvitationsService,
    @Inject(MailOutbox) private readonly outbox: MailOutbox,
  ) {}

  async preview(auth: RequestAuth, csv: string): Promise<ImportPreviewDto> {
    const parsed = parseImport(csv);
    return this.db.transaction(async (tx) => {
      const account = await this.db.lockAccount(tx, auth.account.id);
      const { rows, valid, seats } = await this.check(tx, account, parsed);
      const withErrors = rows.filter((row) => row.dto.errors.length > 0);
      const agents = valid.filter((row) => row.dto.agentAccess).length;
      const after = seatUsageAfter(seats, { seats: valid.length, agents, invited: valid.length });
      const limits = planLimits(account.plan);
      return {
        rows: rows.map((row) => row.dto),
        invitations: valid.length,
        rowsWithErrors: withErrors.length,
        seats: { limit: limits.seats, used: after.used, invited: after.invited },
        agentSeats: { limit: limits.agentSeats, used: after.agents, ...agentCost(account.plan, after.agents) },
        wouldFail: withErrors.length ? rowFailure(withErrors, account) : null,
      };
    });
  }

  async import(auth: RequestAuth, actor: Actor, csv: string): Promise<ImportResultDto> {
    const parsed = parseImport(csv);
    const importId = randomUUID();
    const mails: string[] = [];
    const items = await this.mutations.run(auth, actor, async (context) => {
      const { tx, account } = context;
      const { rows, valid } = await this.check(tx, account, parsed);
      const withErrors = rows.filter((row) => row.dto.errors.length > 0);
      const failure = withErrors.length ? rowFailure(withErrors, account) : null;
      if (failure) throw new DomainError(failure.code, failure.message, failure.details);
      // The check above found room; this is the invitations' own check, under the same lock.
      await assertSeatsFor(tx.manager, account, {
        seats: valid.length,
        agents: valid.filter((row) => row.dto.agentAccess).length,
      });
      const emails = valid.map((row) => row.dto.email);
      const persons = await tx.manager.getRepository(PersonEntity).findBy({ email: In(emails) });
      const personByEmail = new Map(persons.map((person) => [person.email, person.id]));
      const invited: { member: MemberEntity; seq: number }[] = [];
      for (const row of valid) {
        const input = {
          email: row.dto.email,
          personId: personByEmail.get(row.dto.email) ?? null,
          roleId: row.roleId!,
          agentAccess: row.dto.agentAccess,
          teamIds: row.teamIds,
        };
        const { member, mail, seq } = await this.invitations.createInvited(context, auth, input, {
          csvImport: { id: importId, line: row.dto.line },
        });
        mails.push(mail);
        invited.push({ member, seq });
      }
      return publishMembersChanged(tx, account, invited);
    });
    await this.outbox.deliverNow({ ids: mails });
    return { importId, items };
  }

  /** Every row against the account as it is (locked by the caller): its errors, in column order. */
  private async check(tx: Tx, account: AccountEntity, parsed: ParsedRow[]): Promise<Checked> {
    const { manager } = tx;
    const roles = await manager
      .getRepository(RoleEntity)
      .find({ where: [{ accountId: account.id }, { accountId: IsNull() }], order: { position: 'ASC' } });
    const teams = account.teamsEnabled ? await manager.getRepository(TeamEntity).findBy({ accountId: account.id }) : [];
    const teamByName = new Map(teams.map((team) => [team.name.toLowerCase(), team]));

    const emails = parsed.map((row) => emailSchema.safeParse(row.email));
    const wellFormed = emails.flatMap((result) => (result.success ? [result.data] : []));
    const existing = await new MembersRepository(manager, tx.kind).findByEmails(account.id, [...new Set(wellFormed)]);
    const memberByEmail = new Map(existing.map((member) => [member.email, member]));
    const firstLine = new Map<string, number>();

    const rows = parsed.map((row, index): CheckedRow => {
      const errors: ImportRowErrorDto[] = [];
      const result = emails[index]!;
      const email = result.success ? result.data : row.email;
      if (!row.email) errors.push({ code: 'email_missing', field: 'email', message: 'No email' });
      else if (!result.success)
        errors.push({ code: 'email_invalid', field: 'email', message: `“${row.email}” is not a valid email address` });
      else if (firstLine.has(email))
        errors.push({ code: 'duplicate', field: 'email', message: `${email} is also on line ${firstLine.get(email)}` });
      else {
        firstLine.set(email, row.line);
        const member = memberByEmail.get(email);
        if (member) {
          const message =
            member.status === 'revoked'
              ? `${email} is a revoked member: reactivate them instead`
              : `${email} is already ${member.status === 'invited' ? 'invited' : 'a member'}`;
          errors.push({ code: 'already_member', field: 'email', message });
        }
      }

      const role = row.role ? findRole(roles, row.role) : null;
      if (!row.role) errors.push({ code: 'role_missing', field: 'role', message: 'No role' });
      else if (!role)
        errors.push({
          code: 'role_unknown',
          field: 'role',
          message: `No role named “${row.role}” (roles: ${roles.map((r) => r.name).join(', ')})`,
        });

      const agent = row.agentAccess.toLowerCase();
      const agentAccess = YES.has(agent);
      if (!YES.has(agent) && !NO.has(agent)) {
        errors.push({
          code: 'agent_access_invalid',
          field: 'agentAccess',
          message: `Agent access “${row.agentAccess}” is not yes or no`,
        });
      }

      const matched: TeamRef[] = [];
      if (row.teams.length && !account.teamsEnabled) {
        errors.push({ code: 'teams_disabled', field: 'teams', message: 'Talk teams are turned off for this account' });
      } else if (row.teams.length) {
        const unknown: string[] = [];
        for (const name of row.teams) {
          const team = teamByName.get(name.toLowerCase());
          if (!team) unknown.push(name);
          else if (!matched.some((t) => t.id === team.id)) matched.push({ id: team.id, name: team.name });
        }
        if (unknown.length)
          errors.push({
            code: 'team_unknown',
            field: 'teams',
            message: `No team named ${unknown.map((name) => `“${name}”`).join(', ')}`,
          });
        else if (matched.length > MAX_TEAMS)
          errors.push({ code: 'too_many_teams', field: 'teams', message: `At most ${MAX_TEAMS} teams` });
      }

      const roleRef: RoleRef | null = role ? { id: role.id, name: role.name, icon: role.icon } : null;
      return {
        dto: { line: row.line, email, role: roleRef, agentAccess, teams: matched, errors },
        roleId: role?.id ?? null,
        teamIds: matched.map((team) => team.id),
      };
    });

    // Seats for the whole file: the rows past the plan's room say so, in the file's order.
    const seats = await seatCount(manager, account.id);
    const limits = planLimits(account.plan);
    const seatRoom = limits.seats === null ? Infinity : limits.seats - seats.used;
    const agentRoom = limits.agentSeats === null ? Infinity : limits.agentSeats - seats.agents;
    let seated = 0;
    let agents = 0;
    const clean = rows.filter((row) => row.dto.errors.length === 0);
    for (const row of clean) {
      seated += 1;
      if (seated > seatRoom) {
        row.dto.errors.push({
          code: 'seat_limit',
          field: 'row',
          message: `No seat left: the ${account.plan} plan has ${limits.seats} seats and ${seats.used} are in use`,
        });
      }
      if (row.dto.agentAccess && ++agents > agentRoom) {
        row.dto.errors.push({
          code: 'agent_seat_limit',
          field: 'agentAccess',
          message: `No agent seat left: the ${account.plan} plan has ${limits.agentSeats} agent seats and ${seats.agents} are in use`,
        });
      }
    }
    return { rows, valid: rows.filter((row) => row.dto.errors.length === 0), seats };
  }
}

/** The role a cell names: its exact name first, else the one name matching case-insensitively. */
function findRole(roles: RoleEntity[], name: string): RoleEntity | null {
  const exact = roles.find((role) => role.name === name);
  if (exact) return exact;
  const folded = roles.filter((role) => role.name.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0]! : null;
}

/**
 * What the real import answers while rows have errors: 409 for the plan's seats when they are the only
 * errors (as `POST /users/invitations`), 400 otherwise; either way with every row that has errors.
 */
function rowFailure(
  withErrors: CheckedRow[],
  account: AccountEntity,
): {
  code: 'VALIDATION_FAILED' | 'SEAT_LIMIT_REACHED' | 'AGENT_SEAT_LIMIT_REACHED';
  message: string;
  details: Record<string, unknown>;
} {
  const rows = withErrors.map((row) => row.dto);
  const codes = new Set(rows.flatMap((row) => row.errors.map((error) => error.code)));
  const count = `${rows.length} ${rows.length === 1 ? 'row has' : 'rows have'}`;
  if ([...codes].every((code) => code === 'seat_limit' || code === 'agent_seat_limit')) {
    const seatsShort = codes.has('seat_limit');
    const limits = planLimits(account.plan);
    return {
      code: seatsShort ? 'SEAT_LIMIT_REACHED' : 'AGENT_SEAT_LIMIT_REACHED',
      message: `The ${account.plan} plan has ${seatsShort ? `${limits.seats} seats` : `${limits.agentSeats} agent seats`}: ${count} no room; nothing was sent`,
      details: { limit: seatsShort ? limits.seats : limits.agentSeats, rows },
    };
  }
  return {
    code: 'VALIDATION_FAILED',
    message: `${count} errors; nothing was sent`,
    details: { fields: { csv: [`${count} errors`] }, rows },
  };
}
