/** The signed-in person's own sessions (`/me/sessions`), as a small reactive list. */
import type { ListDto, SessionDto } from '@rolecall/contracts';
import { api } from '$lib/api';
import { toasts } from '$lib/toast.svelte';
import { attempt, type Outcome } from './outcome';

export class OwnSessions {
  items = $state<SessionDto[]>([]);
  loading = $state(false);
  loadError = $state<unknown>(null);

  async load(): Promise<void> {
    this.loading = true;
    const outcome = await attempt(() => api.get<ListDto<SessionDto>>('/me/sessions'));
    this.loading = false;
    if (outcome.ok) {
      this.loadError = null;
      // The current session first, then the most recently used.
      this.items = [...outcome.value.items].sort(
        (a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt),
      );
    } else {
      this.loadError = outcome.error;
    }
  }

  async end(id: string): Promise<Outcome<void>> {
    const outcome = await attempt(() => api.delete(`/me/sessions/${encodeURIComponent(id)}`));
    if (outcome.ok) {
      this.items = this.items.filter((item) => item.id !== id);
      toasts.show('Session ended. That device is signed out.');
    }
    return outcome;
  }
}
