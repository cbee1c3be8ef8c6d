/**
 * The rules of the role editor's permission matrix, as pure functions over the catalogue:
 * granting any action of a feature grants its `view` too (so `view` is ticked and locked), and
 * Admin-only actions are never offered to a custom role.
 */
import type { PermissionCatalogueDto, PermissionKey } from '@rolecall/contracts';

export type CatalogueFeature = PermissionCatalogueDto['features'][number];
export type CatalogueAction = CatalogueFeature['actions'][number];

export function viewKeyOf(feature: CatalogueFeature): PermissionKey | undefined {
  return feature.actions.find((action) => action.key.endsWith('.view'))?.key;
}

/** The actions of a feature a custom role may hold. */
export function grantable(feature: CatalogueFeature): CatalogueAction[] {
  return feature.actions.filter((action) => !action.adminOnly);
}

/** `view` is locked on while any other action of its feature is ticked. */
export function isViewLocked(feature: CatalogueFeature, selected: ReadonlySet<string>): boolean {
  const view = viewKeyOf(feature);
  return feature.actions.some((action) => action.key !== view && selected.has(action.key));
}

export type FeatureState = 'all' | 'some' | 'none';

/** Whether all, some or none of the feature's grantable actions are ticked. */
export function featureState(feature: CatalogueFeature, selected: ReadonlySet<string>): FeatureState {
  const actions = grantable(feature);
  const ticked = actions.filter((action) => selected.has(action.key)).length;
  if (ticked === 0) return 'none';
  return ticked === actions.length ? 'all' : 'some';
}

/** Ticks or unticks one action; ticking any action also ticks the feature's `view`. */
export function toggleAction(
  feature: CatalogueFeature,
  selected: ReadonlySet<string>,
  key: PermissionKey,
  on: boolean,
): Set<PermissionKey> {
  const next = new Set(selected) as Set<PermissionKey>;
  const view = viewKeyOf(feature);
  if (on) {
    next.add(key);
    if (view) next.add(view);
  } else if (key !== view || !isViewLocked(feature, selected)) {
    next.delete(key);
  }
  return next;
}

/** Ticks every grantable action of the feature, or none of them. */
export function toggleFeature(feature: CatalogueFeature, selected: ReadonlySet<string>, on: boolean): Set<PermissionKey> {
  const next = new Set(selected) as Set<PermissionKey>;
  for (const action of grantable(feature)) {
    if (on) next.add(action.key);
    else next.delete(action.key);
  }
  return next;
}

/** The keys in catalogue order (so equal sets compare equal and requests are stable). */
export function inCatalogueOrder(catalogue: PermissionCatalogueDto, selected: ReadonlySet<string>): PermissionKey[] {
  return catalogue.features.flatMap((feature) => feature.actions.filter((action) => selected.has(action.key)).map((action) => action.key));
}

export function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((key) => set.has(key));
}

/** "View, Create" for the ticked actions of one feature, or "No access". */
export function describeFeature(feature: CatalogueFeature, keys: ReadonlySet<string>): string {
  const labels = feature.actions.filter((action) => keys.has(action.key)).map((action) => action.label);
  return labels.length > 0 ? labels.join(', ') : 'No access';
}

/** "Campaigns & journeys: Publish; Reports: Export" for a list of keys. */
export function describeKeys(catalogue: PermissionCatalogueDto, keys: readonly string[]): string {
  const held = new Set(keys);
  return catalogue.features
    .filter((feature) => feature.actions.some((action) => held.has(action.key)))
    .map((feature) => {
      const labels = feature.actions.filter((action) => held.has(action.key)).map((action) => action.label);
      return `${feature.label}: ${labels.join(', ')}`;
    })
    .join('; ');
}
