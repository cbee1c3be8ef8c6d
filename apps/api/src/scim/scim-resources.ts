import { DB_INTEGER_MAX, READONLY_ROLE_ID } from '@rolecall/contracts';
import type { MemberEntity } from '../database/entities/member.entity.js';
import type { RoleEntity } from '../database/entities/role.entity.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** Removing a member from a group (role) moves them to the account's default role. */
export const DEFAULT_ROLE_ID = READONLY_ROLE_ID;

export interface ScimUser {
  schemas: string[];
  id: string;
  externalId?: string;
  userName: string;
  name: { formatted?: string; givenName?: string; familyName?: string };
  displayName?: string;
  emails: { value: string; type: string; primary: boolean }[];
  active: boolean;
  groups: { value: string; display: string; $ref: string }[];
  meta: { resourceType: 'User'; created: string; lastModified: string; location: string; version: string };
}

/** A member as a SCIM User: `userName` is the email; `active` is false only once revoked. */
export function toScimUser(member: MemberEntity, role: { id: string; name: string } | null, base: string): ScimUser {
  const [givenName, ...rest] = (member.name ?? '').split(' ');
  return {
    schemas: [USER_SCHEMA],
    id: member.id,
    ...(member.externalId ? { externalId: member.externalId } : {}),
    userName: member.email,
    name: member.name
      ? { formatted: member.name, givenName: givenName!, ...(rest.length ? { familyName: rest.join(' ') } : {}) }
      : {},
    ...(member.name ? { displayName: member.name } : {}),
    emails: [{ value: member.email, type: 'work', primary: true }],
    active: member.status !== 'revoked',
    groups: role ? [{ value: role.id, display: role.name, $ref: `${base}/Groups/${role.id}` }] : [],
    meta: {
      resourceType: 'User',
      created: member.createdAt,
      lastModified: member.lastActiveAt ?? member.joinedAt ?? member.createdAt,
      location: `${base}/Users/${member.id}`,
      version: etagOf(member.version),
    },
  };
}

export function toScimGroup(
  role: RoleEntity,
  holders: { id: string; name: string | null; email: string }[] | null,
  base: string,
) {
  return {
    schemas: [GROUP_SCHEMA],
    id: role.id,
    displayName: role.name,
    ...(holders
      ? { members: holders.map((m) => ({ value: m.id, display: m.name ?? m.email, $ref: `${base}/Users/${m.id}` })) }
      : {}),
    meta: {
      resourceType: 'Group',
      created: role.createdAt,
      location: `${base}/Groups/${role.id}`,
      version: etagOf(role.version),
    },
  };
}

const etagOf = (version: number): string => `W/"${version}"`;

/** `W/"3"`, `"3"` or `3` → 3; anything else → null (a weak or strong ETag of ours). */
export function versionOfEtag(value: string | undefined): number | null {
  if (value === undefined) return null;
  const match = /^(?:W\/)?"?(\d{1,12})"?$/.exec(value.trim());
  return match ? Number(match[1]) : null;
}

const MAX_COUNT = 200;

/**
 * A list's paging (RFC 7644 §3.4.2.4): a missing or non-numeric startIndex is 1 and count 100, a
 * startIndex below 1 is 1, a count below 0 is 0 and above 200 is 200. A startIndex past every row is an
 * empty page; it is capped at the database's integer so `1e300` or `Infinity` never reach the query.
 */
export function scimPaging(query: { startIndex?: string; count?: string }): { startIndex: number; count: number } {
  return {
    startIndex: Math.min(DB_INTEGER_MAX, Math.max(1, Math.floor(Number(query.startIndex ?? 1)) || 1)),
    count: Math.min(MAX_COUNT, Math.max(0, Math.floor(Number(query.count ?? 100)) || 0)),
  };
}

export function listResponse<T>(resources: T[], total: number, startIndex: number) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

const meta = (base: string, type: string, id: string) => ({
  resourceType: type,
  location: `${base}/${type === 'Schema' ? 'Schemas' : type === 'ResourceType' ? 'ResourceTypes' : type}/${id}`,
});

export function serviceProviderConfig(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/rolecall/rolecall#provisioning-with-okta--entra',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: 200 },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'The SCIM token made on the Account page',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      schema: USER_SCHEMA,
      meta: meta(base, 'ResourceType', 'User'),
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      schema: GROUP_SCHEMA,
      meta: meta(base, 'ResourceType', 'Group'),
    },
  ];
}

const attribute = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

export function schemas(base: string) {
  return [
    {
      id: USER_SCHEMA,
      name: 'User',
      description: 'A member of the account',
      attributes: [
        attribute('userName', 'string', { required: true, uniqueness: 'server', description: 'The email address' }),
        attribute('externalId', 'string', { caseExact: true }),
        attribute('name', 'complex', {
          subAttributes: [
            attribute('formatted', 'string'),
            attribute('givenName', 'string'),
            attribute('familyName', 'string'),
          ],
        }),
        attribute('displayName', 'string'),
        attribute('emails', 'complex', {
          multiValued: true,
          subAttributes: [attribute('value', 'string'), attribute('type', 'string'), attribute('primary', 'boolean')],
        }),
        attribute('active', 'boolean'),
        attribute('groups', 'complex', {
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: [attribute('value', 'string'), attribute('display', 'string')],
        }),
      ],
      meta: meta(base, 'Schema', USER_SCHEMA),
    },
    {
      id: GROUP_SCHEMA,
      name: 'Group',
      description: "One of the account's roles; its members hold it",
      attributes: [
        attribute('displayName', 'string', { required: true, mutability: 'readOnly' }),
        attribute('members', 'complex', {
          multiValued: true,
          subAttributes: [attribute('value', 'string'), attribute('display', 'string')],
        }),
      ],
      meta: meta(base, 'Schema', GROUP_SCHEMA),
    },
  ];
}
