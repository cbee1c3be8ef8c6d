/** How webhook deliveries behave (README, "Audit streaming"); read from the environment once. */
export interface WebhookConfig {
  /**
   * `WEBHOOKS_ALLOW_LOCAL=true` (development and tests only, off by default): endpoints may be
   * `http://` and may resolve to loopback or private addresses. Off, only `https://` URLs whose host
   * resolves to public unicast addresses are accepted, at creation and at every delivery.
   */
  readonly allowLocal: boolean;
  /** One attempt (connect, TLS, answer headers) may take this long (10 s). */
  readonly timeoutMs: number;
  /** Wait after the first failed attempt, doubled after each further one, ±20 % jitter (5 s)… */
  readonly retryBaseMs: number;
  /** …up to this (1 h). */
  readonly retryMaxMs: number;
  /** An endpoint failing for this long without one success is disabled (24 h). */
  readonly disableAfterMs: number;
  /** How often each node looks for due endpoints besides the nudge after each commit (1 s). */
  readonly pollMs: number;
  /** How long a node holds an endpoint it is delivering to; renewed after each delivery (60 s). */
  readonly leaseMs: number;
  /** Entries read per round for one endpoint (100). */
  readonly batch: number;
  /** Delivery attempts are kept this long in the delivery log (7 days). */
  readonly keepDeliveriesMs: number;
}

export const DEFAULT_WEBHOOK_CONFIG: Omit<WebhookConfig, 'allowLocal'> = {
  timeoutMs: 10_000,
  retryBaseMs: 5_000,
  retryMaxMs: 60 * 60 * 1000,
  disableAfterMs: 24 * 60 * 60 * 1000,
  pollMs: 1_000,
  leaseMs: 60_000,
  batch: 100,
  keepDeliveriesMs: 7 * 24 * 60 * 60 * 1000,
};

export function webhookConfig(env: NodeJS.ProcessEnv): WebhookConfig {
  const raw = env['WEBHOOKS_ALLOW_LOCAL'];
  if (raw !== undefined && raw !== '' && raw !== 'true' && raw !== 'false') {
    throw new Error(`WEBHOOKS_ALLOW_LOCAL must be true or false, got "${raw}"`);
  }
  return { ...DEFAULT_WEBHOOK_CONFIG, allowLocal: raw === 'true' };
}
