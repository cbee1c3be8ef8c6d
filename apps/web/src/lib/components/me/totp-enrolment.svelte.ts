import type { TotpSetupDto } from '@rolecall/contracts';
import { messageFor } from '$lib/errors';
import { startTotpSetup } from '$lib/services/me.service';

/** Where a 2FA enrolment is once started: the QR code to confirm with a first code, then the recovery codes. */
type TotpEnrolmentStep = { name: 'setup'; setup: TotpSetupDto } | { name: 'codes'; codes: string[] };

/**
 * Turning 2FA on, as the 2FA card of My account and the enrolment page both run it: `begin` asks for
 * a new secret (`starting` meanwhile; a failure in words in `error`), `confirmed` moves on to the
 * recovery codes, `reset` goes back to before the start (`step` null).
 */
export class TotpEnrolment {
  step = $state<TotpEnrolmentStep | null>(null);
  starting = $state(false);
  error = $state<string | null>(null);

  async begin(): Promise<void> {
    this.starting = true;
    this.error = null;
    const outcome = await startTotpSetup();
    this.starting = false;
    if (outcome.ok) this.step = { name: 'setup', setup: outcome.value };
    else this.error = messageFor(outcome.error);
  }

  confirmed(codes: string[]): void {
    this.step = { name: 'codes', codes };
  }

  reset(): void {
    this.step = null;
  }
}
