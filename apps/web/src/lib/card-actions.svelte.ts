/**
 * The admin actions of a settings card that lists things and changes them one click at a time
 * (service accounts, webhooks, SCIM token, Talk teams): one action at a time (`busy`), its refusal
 * for the card (`error`) or under the create form's fields (`fieldErrors`), a toast when it worked,
 * and the card's list read again afterwards. A version conflict (another admin changed it first)
 * reads the list again too and says so in the card's own words.
 *
 *   const actions = new CardActions(load, 'Another admin changed this endpoint first; …');
 *   void actions.run(() => api.delete(`/webhooks/${id}`), 'Endpoint deleted.');
 */
import { isApiError } from './api';
import { messageFor } from './errors';
import type { FieldErrors } from './forms';
import { toasts } from './toast.svelte';

export class CardActions {
  busy = $state(false);
  error = $state<string | null>(null);
  fieldErrors = $state<FieldErrors>({});

  /**
   * @param reload reads the card's list again (after every action, and after a conflict)
   * @param conflict the card's sentence for VERSION_MISMATCH; without it the API's message shows
   */
  constructor(
    private readonly reload: () => Promise<void>,
    private readonly conflict?: string,
  ) {}

  /** Runs one action; resolves to whether it worked. `done` is the toast (none when null). */
  async run(work: () => Promise<unknown>, done: string | null): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      await work();
      if (done) toasts.show(done);
      await this.reload();
      return true;
    } catch (cause) {
      if (isApiError(cause, 'VALIDATION_FAILED')) this.fieldErrors = cause.fields;
      const conflict = isApiError(cause, 'VERSION_MISMATCH');
      this.error = conflict && this.conflict ? this.conflict : messageFor(cause);
      if (conflict) await this.reload();
      return false;
    } finally {
      this.busy = false;
    }
  }
}
