import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsController } from './accounts/accounts.controller.js';
import { AccountsService } from './accounts/accounts.service.js';
import { AccountMutations } from './database/account-mutation.js';
import { ActivityController } from './activity/activity.controller.js';
import { ActivityExport } from './activity/activity-export.js';
import { ActivityService } from './database/activity.service.js';
import { EtagInterceptor } from './common/etag.interceptor.js';
import { InvitationsController } from './invitations/invitations.controller.js';
import { InvitationsService } from './invitations/invitations.service.js';
import { MailService } from './infra/mail.service.js';
import { MailOutbox } from './infra/mail-outbox.js';
import { LiveEvents } from './live/live-events.service.js';
import { LiveSync } from './live/live-sync.service.js';
import { LiveGateway } from './live/live.gateway.js';
import { LiveMetrics } from './live/live-metrics.js';
import { REDIS, RedisBridge, type RedisConnections } from './infra/redis-bridge.js';
import { MembersController } from './members/members.controller.js';
import { MembersCsvController } from './members/members-csv.controller.js';
import { MembersExport } from './members/members-export.js';
import { InvitationsImport } from './invitations/invitations-import.js';
import { InvitationsImportController } from './invitations/invitations-import.controller.js';
import { InvitationIssuer } from './infra/invitation-issuer.js';
import { MembersService } from './members/members.service.js';
import { BulkMembersService } from './members/bulk.service.js';
import { TwoFactorReset } from './members/two-factor-reset.service.js';
import { RolesController } from './roles/roles.controller.js';
import { RolesService } from './roles/roles.service.js';
import { TeamsController } from './teams/teams.controller.js';
import { TeamsService } from './teams/teams.service.js';
import { AccessGuard } from './auth/access.guard.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { EmailVerification } from './auth/email-verification.service.js';
import { PasswordReset } from './auth/password-reset.service.js';
import { RecoveryController } from './auth/recovery.controller.js';
import { SessionProbeController } from './me/session-probe.controller.js';
import { EmailLinks } from './database/email-links.js';
import { MailboxProofs } from './database/mailbox-proofs.js';
import { RateLimitService } from './infra/rate-limit.service.js';
import { SecondFactorService } from './database/second-factor.service.js';
import { Clock, SystemClock } from './common/clock.js';
import { Passwords } from './common/passwords.js';
import { ErrorFilter } from './common/error.filter.js';
import { validationPipe } from './common/validation.js';
import { APP_CONFIG, type AppConfig } from './config.js';
import { dataSourceOptions } from './database/data-source.js';
import { Database } from './database/database.service.js';
import { DomainEventBus } from './events/domain-events.js';
import { HealthController } from './health/health.controller.js';
import { HEALTH_IMPORTS, HEALTH_PROVIDERS } from './health/health.module.js';
import { MeController } from './me/me.controller.js';
import { MeService } from './me/me.service.js';
import { PermissionsService } from './database/permissions.service.js';
import { SessionsService } from './database/sessions.service.js';
import { OidcClients } from './infra/oidc-clients.js';
import { SecretBox } from './common/secret-box.js';
import { SsoController } from './sso/sso.controller.js';
import { SsoService } from './sso/sso.service.js';
import { ScimController } from './scim/scim.controller.js';
import { ScimTokenController } from './scim/scim-token.controller.js';
import { ScimService } from './scim/scim.service.js';
import { ServiceAccountsController } from './service-accounts/service-accounts.controller.js';
import { ServiceAccountPermissions } from './database/service-account-permissions.js';
import { ApiKeys } from './database/api-keys.js';
import { ServiceAccountsService } from './service-accounts/service-accounts.service.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { WebhookWorker } from './webhooks/webhook-worker.js';
import { ViewAsController } from './view-as/view-as.controller.js';
import { ViewAsService } from './view-as/view-as.service.js';

export interface AppOptions {
  /** Replaces the system clock (tests move time with it). */
  clock?: Clock;
  /** Connected Redis clients when `REDIS_URL` is set. */
  redis?: RedisConnections | null;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    const providers: Provider[] = [
      { provide: APP_CONFIG, useValue: config },
      { provide: Clock, useValue: options.clock ?? new SystemClock() },
      { provide: REDIS, useValue: options.redis ?? null },
      RedisBridge,
      LiveSync,
      LiveGateway,
      LiveEvents,
      LiveMetrics,
      DomainEventBus,
      Database,
      ActivityService,
      AccountMutations,
      SessionsService,
      MailService,
      MailOutbox,
      InvitationsService,
      InvitationsImport,
      InvitationIssuer,
      MembersExport,
      MembersService,
      BulkMembersService,
      TwoFactorReset,
      AccountsService,
      TeamsService,
      RolesService,
      PermissionsService,
      RateLimitService,
      SecondFactorService,
      Passwords,
      AuthService,
      EmailLinks,
      MailboxProofs,
      EmailVerification,
      PasswordReset,
      MeService,
      SecretBox,
      OidcClients,
      SsoService,
      ScimService,
      ActivityExport,
      WebhookWorker,
      WebhooksService,
      ServiceAccountPermissions,
      ApiKeys,
      ServiceAccountsService,
      ViewAsService,
      ...HEALTH_PROVIDERS,
      { provide: APP_GUARD, useClass: AccessGuard },
      { provide: APP_FILTER, useClass: ErrorFilter },
      { provide: APP_PIPE, useValue: validationPipe },
      { provide: APP_INTERCEPTOR, useClass: EtagInterceptor },
    ];
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions(config), retryAttempts: 3, retryDelay: 1000 }),
        ...HEALTH_IMPORTS,
      ],
      controllers: [
        HealthController,
        AuthController,
        SessionProbeController,
        RecoveryController,
        MeController,
        MembersCsvController,
        InvitationsImportController,
        MembersController,
        InvitationsController,
        AccountsController,
        TeamsController,
        ActivityController,
        RolesController,
        SsoController,
        WebhooksController,
        ScimTokenController,
        ScimController,
        ServiceAccountsController,
        ViewAsController,
      ],
      providers,
    };
  }
}
