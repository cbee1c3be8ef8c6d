/**
 * The state every dashboard form keeps: messages per field, one message for the form, whether a
 * submission is on its way, and the form element (to move focus to the first field marked invalid).
 *
 *   const form = new FormState();
 *   <form bind:this={form.element} …>  <Field errors={form.fieldErrors['email']} …>  <FormAlert message={form.formError} />
 */
import { tick } from 'svelte';
import { focusFirstInvalid, splitError, type FieldErrors } from './forms';

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

  clear(): void {
    this.fieldErrors = {};
    this.formError = null;
  }
}
