/** Presenting permission keys with the catalogue's labels, in catalogue order. */
import {
  ACTION_LABELS,
  FEATURE_KEYS,
  FEATURES,
  type ActionKey,
  type FeatureKey,
  type PermissionKey,
} from '@rolecall/contracts';

export interface FeatureGrant {
  feature: FeatureKey;
  label: string;
  actions: { key: PermissionKey; action: ActionKey; label: string }[];
}

/** Groups permission keys by feature; features and actions follow the catalogue's order. */
export function groupByFeature(keys: Iterable<string>): FeatureGrant[] {
  const held = new Set(keys);
  const groups: FeatureGrant[] = [];
  for (const feature of FEATURE_KEYS) {
    const definition = FEATURES[feature];
    const actions: readonly ActionKey[] = definition.actions;
    const granted = actions
      .map((action) => ({ key: `${feature}.${action}` as PermissionKey, action, label: ACTION_LABELS[action] }))
      .filter((entry) => held.has(entry.key));
    if (granted.length > 0) groups.push({ feature, label: definition.label, actions: granted });
  }
  return groups;
}

/** Labels of the catalogue features none of whose actions are among `keys`. */
export function featuresWithout(keys: Iterable<string>): string[] {
  const held = new Set(keys);
  return FEATURE_KEYS.filter((feature) => {
    const actions: readonly ActionKey[] = FEATURES[feature].actions;
    return !actions.some((action) => held.has(`${feature}.${action}`));
  }).map((feature) => FEATURES[feature].label);
}

/** "Campaigns: View, Edit; Talk inbox: View" — keys in words, in catalogue order. */
export function describeGrants(keys: Iterable<string>): string {
  return groupByFeature(keys)
    .map((group) => `${group.label}: ${group.actions.map((action) => action.label).join(', ')}`)
    .join('; ');
}
