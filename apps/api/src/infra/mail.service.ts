import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { logFailure } from '../common/observability/outage-log.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

const FROM = 'Rolecall <no-reply@rolecall.local>';

/**
 * Outgoing mail through nodemailer. With `SMTP_URL` set it goes through that server; without it
 * each message is written, fully formed, as an `.eml` file in `$DATA_DIR/outbox/`.
 */
@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly logger = new Logger(MailService.name);
  /** Work started by `later` and not finished yet; shutdown waits for it. */
  private readonly pending = new Set<Promise<void>>();
  private readonly transport: Transporter;
  readonly outbox: string | null;
  private readonly publicUrl: string | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (config.smtpUrl) {
      // A mail server that accepts and never answers must not hold a mail for minutes (nodemailer's
      // defaults): the outbox retries. Query parameters of SMTP_URL still win.
      this.transport = nodemailer.createTransport({ url: config.smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
      this.outbox = null;
      this.publicUrl = null;
    } else {
      this.transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
      this.outbox = join(config.dataDir, 'outbox');
      this.publicUrl = `${config.publicUrl}/`;
      mkdirSync(this.outbox, { recursive: true });
    }
  }

  /**
   * Runs `work` (which usually ends in `send`) after the caller has answered: a slow or broken mail
   * server must not hold up a sign-up, nor show in how long a password-reset request takes. A
   * failure is logged with `what`. The returned promise never rejects.
   */
  later(what: string, work: () => Promise<void>): Promise<void> {
    const task: Promise<void> = work()
      // A database outage is an outage line (no stack, one per interval); anything else with its stack.
      .catch((error: unknown) => logFailure(this.logger, what, error))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
    return task;
  }

  /** Settles once everything started with `later` has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.idle();
  }

  async send(mail: Mail): Promise<void> {
    const info = (await this.transport.sendMail({ from: FROM, ...mail })) as { message?: Buffer; messageId?: string };
    if (this.outbox && info.message) {
      const safe = mail.to.replace(/[^a-z0-9@._-]/gi, '_');
      const file = join(this.outbox, `${new Date().toISOString().replace(/[:.]/g, '-')}-${safe}-${Math.random().toString(36).slice(2, 8)}.eml`);
      writeFileSync(file, info.message);
      // Without a mail server the link is logged too (SPEC §3): development and demos follow it from the log.
      const link = this.publicUrl ? mail.text.split('\n').find((line) => line.startsWith(this.publicUrl!)) : undefined;
      this.logger.log(`Mail to ${mail.to} written to ${file}${link ? `; its link: ${link}` : ''}`);
    }
  }
}

export const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
