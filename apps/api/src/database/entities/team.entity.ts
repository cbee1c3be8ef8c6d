import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A Talk team of an account. */
@Entity('teams')
@Index('ux_teams_account_name', ['accountId', 'nameKey'], { unique: true })
export class TeamEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  @Column({ type: 'varchar', length: 60 })
  name!: string;

  @Column({ name: 'name_key', type: 'varchar', length: 60 })
  nameKey!: string;

  @Column({ type: 'integer', default: 1 })
  version!: number;

  @Column({ name: 'created_at', type: 'varchar', length: 30 })
  createdAt!: string;
}

/** Which members belong to which Talk teams. */
@Entity('member_teams')
@Index('ix_member_teams_team', ['teamId'])
export class MemberTeamEntity {
  @PrimaryColumn({ name: 'member_id', type: 'varchar', length: 36 })
  memberId!: string;

  @PrimaryColumn({ name: 'team_id', type: 'varchar', length: 36 })
  teamId!: string;
}
