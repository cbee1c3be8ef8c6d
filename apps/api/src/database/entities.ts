import { AccountEntity } from '../accounts/account.entity.js';
import { ActivityEntity } from '../activity/activity.entity.js';
import { InvitationEntity } from '../invitations/invitation.entity.js';
import { MailOutboxEntity } from '../mail/mail-outbox.entity.js';
import { MemberEntity } from '../members/member.entity.js';
import { EmailLinkEntity } from '../persons/email-link.entity.js';
import { PersonEntity } from '../persons/person.entity.js';
import { RoleEntity } from '../roles/role.entity.js';
import { ScimTokenEntity } from '../scim/scim-token.entity.js';
import { ServiceAccountEntity, ServiceAccountKeyEntity } from '../service-accounts/service-account.entity.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { IdentityEntity } from '../sso/identity.entity.js';
import { SsoFlowEntity } from '../sso/sso-flow.entity.js';
import { MemberTeamEntity, TeamEntity } from '../teams/team.entity.js';
import { WebhookDeliveryEntity, WebhookEndpointEntity } from '../webhooks/webhook.entity.js';

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
