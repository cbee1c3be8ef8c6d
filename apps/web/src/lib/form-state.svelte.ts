/**
 * The state every dashboard form keeps: messages per field, one message for the form, whether a
 * submission is on its way, and the form element (to move focus to the first field marked invalid).
 *
 *   const form = new FormState();
 *   <form bind:this={form.element} …>  <Field errors={form.fieldErrors['email']} …>  <FormAlert message={form.formError} />
 *
 * and the submission every form repeats (`submit`): check → send → show the refusal in place.
 */
import { tick } from 'svelte';
import { focusFirstInvalid, splitError, type Checked, type FieldErrors } from './forms';
import type { Outcome } from './services/outcome';

export class FormState {
  fieldErrors = $state<FieldErrors>({});
  formError = $state<string | null>(null);
  submitting = $state(false);
  element = $state<HTMLFormElement | undefined>();

  /** Shows these messages (replacing the previous ones) and focuses the first invalid field. */
  async showErrors(fields: FieldErrors, message: string | null = null): Promise<void> {
    this.fieldErrors = fields;
    this.formError = message;
    await tick();
    focusFirstInvalid(this.element);
  }

  /** Shows an API error: under the `fields` it names that are on this form, else for the whole form. */
  showError(error: unknown, fields: readonly string[]): Promise<void> {
    const split = splitError(error, fields);
    return this.showErrors(split.fields, split.form);
  }

  /**
   * Submits the form: nothing while a submission is on its way; the input's check first (its
   * messages under their fields); then `send`. A refusal goes to `refused` first (true: it showed
   * it itself), else under the `fields` it names that are on this form, or for the whole form.
   * Resolves to the answer when the submission succeeded, `null` otherwise. `checked` may be a
   * function, for a check whose schema loads with the first submission (the form is busy meanwhile).
   */
  async submit<T, R>(
    event: Event | null,
    checked: Checked<T> | (() => Promise<Checked<T>>),
    send: (value: T) => Promise<Outcome<R>>,
    refusal: { fields: readonly string[]; refused?: (error: unknown) => boolean | Promise<boolean> },
  ): Promise<{ value: R } | null> {
    event?.preventDefault();
    if (this.submitting) return null;
    this.submitting = true;
    const input = typeof checked === 'function' ? await checked() : checked;
    if (!input.ok) {
      this.submitting = false;
      await this.showErrors(input.fields);
      return null;
    }
    const outcome = await send(input.value);
    this.submitting = false;
    if (outcome.ok) return { value: outcome.value };
    if (!(await refusal.refused?.(outcome.error))) await this.showError(outcome.error, refusal.fields);
    return null;
  }

  clear(): void {
    this.fieldErrors = {};
    this.formError = null;
  }
}
