import { Column, Entity, Index } from 'typeorm';
import { IdColumn, ReferenceColumn, TimestampColumn, VersionCounterColumn } from './columns.js';

/** A Talk team of an account. */
@Entity('teams')
@Index('ux_teams_account_name', ['accountId', 'nameKey'], { unique: true })
export class TeamEntity {
  @IdColumn()
  id!: string;

  @ReferenceColumn('account_id')
  accountId!: string;

  @Column({ type: 'varchar', length: 60 })
  name!: string;

  @Column({ name: 'name_key', type: 'varchar', length: 60 })
  nameKey!: string;

  @VersionCounterColumn()
  version!: number;

  @TimestampColumn('created_at')
  createdAt!: string;
}

/** Which members belong to which Talk teams. */
@Entity('member_teams')
@Index('ix_member_teams_team', ['teamId'])
export class MemberTeamEntity {
  @IdColumn('member_id')
  memberId!: string;

  @IdColumn('team_id')
  teamId!: string;
}
