/**
 * The permission catalogue of SPEC §4: the single source of truth for permission keys,
 * their labels, which actions are Admin-only, and the icons a custom role may use.
 */

export const ACTION_LABELS = {
  view: 'View',
  create: 'Create',
  edit: 'Edit',
  delete: 'Delete',
  import: 'Import',
  export: 'Export',
  publish: 'Publish',
  reply: 'Reply',
  assign: 'Assign',
  manage: 'Manage',
} as const;

export type ActionKey = keyof typeof ACTION_LABELS;

interface FeatureDefinition {
  readonly label: string;
  readonly actions: readonly ActionKey[];
  /** Actions only the Admin system role holds; never grantable to a custom role. */
  readonly adminOnly?: readonly ActionKey[];
}

export const FEATURES = {
  people: { label: 'People & organizations', actions: ['view', 'create', 'edit', 'delete', 'import', 'export'] },
  audiences: { label: 'Audiences', actions: ['view', 'create', 'edit', 'delete'] },
  activities: { label: 'Activities', actions: ['view', 'create', 'edit', 'delete'] },
  campaigns: { label: 'Campaigns & journeys', actions: ['view', 'create', 'edit', 'delete', 'publish'] },
  templates: { label: 'Templates & assets', actions: ['view', 'create', 'edit', 'delete', 'publish'] },
  dashboards: { label: 'Dashboards', actions: ['view', 'create', 'edit', 'delete'] },
  reports: { label: 'Reports', actions: ['view', 'create', 'edit', 'delete', 'export'] },
  talk: { label: 'Talk inbox', actions: ['view', 'reply', 'assign', 'manage'] },
  integrations: { label: 'Data sources & integrations', actions: ['view', 'create', 'edit', 'delete'] },
  users: { label: 'Users', actions: ['view', 'manage'], adminOnly: ['manage'] },
  roles: { label: 'Roles', actions: ['view', 'manage'], adminOnly: ['manage'] },
  activity: { label: 'Account activity', actions: ['view'] },
  account: { label: 'Account settings', actions: ['view', 'manage'], adminOnly: ['manage'] },
  billing: { label: 'Billing', actions: ['view', 'manage'], adminOnly: ['manage'] },
} as const satisfies Record<string, FeatureDefinition>;

export type FeatureKey = keyof typeof FEATURES;

type KeysOf<F extends FeatureKey> = `${F}.${(typeof FEATURES)[F]['actions'][number]}`;
/** Every permission key of the catalogue, e.g. `'users.manage'`. */
export type PermissionKey = { [F in FeatureKey]: KeysOf<F> }[FeatureKey];

export const FEATURE_KEYS = Object.keys(FEATURES) as FeatureKey[];

export const PERMISSION_KEYS: readonly PermissionKey[] = FEATURE_KEYS.flatMap((feature) =>
  FEATURES[feature].actions.map((action) => `${feature}.${action}` as PermissionKey),
);

const PERMISSION_KEY_SET: ReadonlySet<string> = new Set(PERMISSION_KEYS);

export function isPermissionKey(value: string): value is PermissionKey {
  return PERMISSION_KEY_SET.has(value);
}

export const ADMIN_ONLY_PERMISSIONS: ReadonlySet<PermissionKey> = new Set(
  FEATURE_KEYS.flatMap((feature) => {
    const def: FeatureDefinition = FEATURES[feature];
    return (def.adminOnly ?? []).map((action) => `${feature}.${action}` as PermissionKey);
  }),
);

export function featureOf(key: PermissionKey): FeatureKey {
  return key.slice(0, key.indexOf('.')) as FeatureKey;
}

export function viewKeyOf(feature: FeatureKey): PermissionKey {
  return `${feature}.view` as PermissionKey;
}

/** The features an Editor or Read only member works with (people … integrations). */
export const CONTENT_FEATURES = [
  'people',
  'audiences',
  'activities',
  'campaigns',
  'templates',
  'dashboards',
  'reports',
  'talk',
  'integrations',
] as const satisfies readonly FeatureKey[];

/** The fixed icon set a role can use (names of the dashboard's icon sprites). */
export const ROLE_ICONS = [
  'shield',
  'pencil',
  'eye',
  'star',
  'user',
  'users',
  'briefcase',
  'chart',
  'megaphone',
  'headset',
  'database',
  'settings',
  'key',
  'globe',
  'heart',
  'bolt',
  'flag',
  'book',
] as const;

export type RoleIcon = (typeof ROLE_ICONS)[number];

export type SystemRoleKey = 'admin' | 'editor' | 'readonly';

export interface SystemRoleDefinition {
  readonly id: string;
  readonly key: SystemRoleKey;
  readonly name: string;
  readonly description: string;
  readonly icon: RoleIcon;
  readonly permissions: readonly PermissionKey[];
}

/** System roles have fixed ids, shared by every account; they are seeded by a migration. */
export const SYSTEM_ROLES: readonly SystemRoleDefinition[] = [
  {
    id: '00000000-0000-4000-8000-000000000001',
    key: 'admin',
    name: 'Admin',
    description: 'Full access to everything, including users, roles, account settings and billing.',
    icon: 'shield',
    permissions: PERMISSION_KEYS,
  },
  {
    id: '00000000-0000-4000-8000-000000000002',
    key: 'editor',
    name: 'Editor',
    description: 'Creates and edits all content; cannot manage users, roles or billing.',
    icon: 'pencil',
    permissions: [
      ...CONTENT_FEATURES.flatMap((feature) =>
        FEATURES[feature].actions.map((action) => `${feature}.${action}` as PermissionKey),
      ).filter((key) => key !== 'talk.manage'),
      'account.view',
    ],
  },
  {
    id: '00000000-0000-4000-8000-000000000003',
    key: 'readonly',
    name: 'Read only',
    description: 'Views all content without changing anything.',
    icon: 'eye',
    permissions: CONTENT_FEATURES.map((feature) => viewKeyOf(feature)),
  },
];

export const ADMIN_ROLE_ID = SYSTEM_ROLES[0]!.id;
export const EDITOR_ROLE_ID = SYSTEM_ROLES[1]!.id;
export const READONLY_ROLE_ID = SYSTEM_ROLES[2]!.id;

export function systemRoleById(id: string): SystemRoleDefinition | undefined {
  return SYSTEM_ROLES.find((role) => role.id === id);
}
