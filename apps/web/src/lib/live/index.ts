/**
 * The dashboard's live store: the one owner of the socket and of every subscription (account
 * events, `me.permissions`, the activity stream, presence), reconnect and resync. Pages read
 * resources built on it and never emit socket events themselves (see the README's "The dashboard").
 */
export { live, type Presence } from './store.svelte';
export { ActivityFeed } from './activity.svelte';
export { REVOCATION_MESSAGES, revocationReasonOf } from './revocation';
