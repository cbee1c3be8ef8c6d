import { AccountEntity } from './entities/account.entity.js';
import { ActivityEntity } from './entities/activity.entity.js';
import { InvitationEntity } from './entities/invitation.entity.js';
import { MailOutboxEntity } from './entities/mail-outbox.entity.js';
import { MemberEntity } from './entities/member.entity.js';
import { EmailLinkEntity } from './entities/email-link.entity.js';
import { PersonEntity } from './entities/person.entity.js';
import { RoleEntity } from './entities/role.entity.js';
import { ScimTokenEntity } from './entities/scim-token.entity.js';
import { ServiceAccountEntity, ServiceAccountKeyEntity } from './entities/service-account.entity.js';
import { SessionEntity } from './entities/session.entity.js';
import { IdentityEntity } from './entities/identity.entity.js';
import { SsoFlowEntity } from './entities/sso-flow.entity.js';
import { MemberTeamEntity, TeamEntity } from './entities/team.entity.js';
import { WebhookDeliveryEntity, WebhookEndpointEntity } from './entities/webhook.entity.js';

export const ENTITIES = [
  PersonEntity,
  AccountEntity,
  RoleEntity,
  MemberEntity,
  TeamEntity,
  MemberTeamEntity,
  InvitationEntity,
  SessionEntity,
  ActivityEntity,
  IdentityEntity,
  SsoFlowEntity,
  EmailLinkEntity,
  MailOutboxEntity,
  ScimTokenEntity,
  WebhookEndpointEntity,
  WebhookDeliveryEntity,
  ServiceAccountEntity,
  ServiceAccountKeyEntity,
];
