/**
 * Service accounts and API keys (issue 16 §3): non-person actors of an account holding one role,
 * authenticated by API keys (`Authorization: Bearer rck_…`). Shared by the API and the dashboard.
 */
import { z } from 'zod';
import type { PermissionKey, RoleIcon } from './permissions.js';
import { idSchema, nameSchema } from './schemas.js';

/** Every API key starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const API_KEY_PREFIX = 'rck_';

/** Service accounts per account: plenty for automation, bounded for the list. */
export const MAX_SERVICE_ACCOUNTS = 50;
/** Keys per service account that are not revoked (rotation needs two at once). */
export const MAX_KEYS_PER_SERVICE_ACCOUNT = 10;

export const createServiceAccountSchema = z.strictObject({ name: nameSchema, roleId: idSchema });
export type CreateServiceAccountRequest = z.input<typeof createServiceAccountSchema>;

export const updateServiceAccountSchema = z
  .strictObject({ name: nameSchema.optional(), roleId: idSchema.optional() })
  .refine((body) => body.name !== undefined || body.roleId !== undefined, 'Send name, roleId or both');
export type UpdateServiceAccountRequest = z.input<typeof updateServiceAccountSchema>;

/** `expiresAt`: an ISO 8601 date-time in the future (at most 5 years ahead); absent or null: never expires. */
export const createApiKeySchema = z.strictObject({
  expiresAt: z.iso
    .datetime({ offset: true, message: 'Use an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z' })
    .nullable()
    .optional(),
});
export type CreateApiKeyRequest = z.input<typeof createApiKeySchema>;

export const serviceAccountKeyParamSchema = z.strictObject({ id: idSchema, keyId: idSchema });

export interface ApiKeyDto {
  id: string;
  /** The first characters of the key (`rck_` and 8 more): how lists name it. */
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** The answer to issuing a key: the only time `key` is shown. */
export interface ApiKeyWithSecretDto extends ApiKeyDto {
  key: string;
}

export interface ServiceAccountDto {
  id: string;
  name: string;
  role: { id: string; name: string; icon: RoleIcon } | null;
  version: number;
  createdAt: string;
  /** Keys that are not revoked (expired ones included, marked by `expiresAt`). */
  keys: ApiKeyDto[];
}

/** `GET /service-accounts/self`: who a key is (GET /me is for people). */
export interface ServiceAccountSelfDto {
  serviceAccount: ServiceAccountDto;
  /** `activitySeq` as in AccountDto: where the live stream starts. */
  account: { id: string; name: string; activitySeq: number };
  /** The service account in the member-like shape libs/client reads (`member.role.id`). */
  member: { id: string; role: { id: string } };
  permissions: { version: number; keys: PermissionKey[] };
  key: ApiKeyDto;
}
