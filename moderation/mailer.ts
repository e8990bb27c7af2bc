/**
 * The mailer: sends what the account flows wrote to the `mail_outbox` table (a password-reset link, say), the
 * transactional-outbox pattern — the row is written in the same transaction as what it tells, and sent here
 * afterwards, at least once. Runs on every API node (bin/runtime.ts); each row is locked while it is sent
 * (`for update skip locked`), so several nodes never send the same row at once.
 *
 * With `SMTP_URL` set, rows are sent with nodemailer over SMTP, oldest first. A failed attempt is counted on the
 * row with its error (`attempts`, `last_error`) and retried after an exponential backoff (`next_attempt_at` on the
 * row: every node honours it, and a restart keeps it) until `maxAttempts`, after which the row stays unsent for an
 * operator to see.
 * Without `SMTP_URL` nothing is sent: the rows stay in the outbox (logged once at start), for the operator and
 * the tests to read. Logs carry row ids and kinds, never addresses or bodies.
 */
import nodemailer, { type Transporter, type TransportOptions } from 'nodemailer';
import { errorText } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { claimMail, markMailFailed, markMailSent, unsentMailCount, type Db } from '../db/index.ts';

export interface MailerDeps {
  db: Db;
  /** `smtp://user:pass@host:587` or `smtps://…:465` (config.mail.smtpUrl); null: mail stays in the outbox. */
  smtpUrl: string | null;
  /** The From header (config.mail.from). */
  from: string;
  logger: Logger;
  /** Poll interval when the outbox is empty (ms, default 2000). */
  pollMs?: number;
  /** Attempts per row before giving up (default 8). */
  maxAttempts?: number;
  /** Backoff after a failed attempt: doubles per attempt from `minBackoffMs` (default 5 s) up to `maxBackoffMs` (default 30 min). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** SMTP timeouts (ms, default 15 s each for connecting, the greeting and an idle socket), so a row's lock is never held long. */
  timeoutMs?: number;
}

/** Sends the mail outbox (see the module comment). */
export class Mailer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;
  private transport: Transporter | null = null;

  constructor(private readonly deps: MailerDeps) {}

  /** Starts sending (or, without SMTP, logs once that mail stays in the outbox). */
  start(): void {
    const { deps } = this;
    if (!deps.smtpUrl) {
      unsentMailCount(deps.db, this.maxAttempts)
        .then((unsent) => deps.logger.info({ unsent }, 'SMTP_URL is not set: outgoing e-mail (password-reset links) stays in the mail_outbox table'))
        .catch(() => deps.logger.info('SMTP_URL is not set: outgoing e-mail (password-reset links) stays in the mail_outbox table'));
      return;
    }
    const t = deps.timeoutMs ?? 15_000;
    this.transport = nodemailer.createTransport({ url: deps.smtpUrl, connectionTimeout: t, greetingTimeout: t, socketTimeout: t } as TransportOptions);
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      let sent = false;
      this.running = this.sendNext().then((r) => { sent = r !== 'idle'; }, (err) => { deps.logger.error({ err: errorText(err) }, 'mail outbox: sending failed'); });
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, sent ? 0 : deps.pollMs ?? 2000);
    };
    this.timer = setTimeout(loop, 0);
    deps.logger.info('mailer sending the mail outbox over SMTP');
  }

  /** Stops after the row being sent, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.transport?.close();
    this.transport = null;
  }

  private get maxAttempts(): number { return this.deps.maxAttempts ?? 8; }

  /**
   * Sends the oldest unsent row that is not backing off and no other node holds.
   * @returns `sent`, `failed` (recorded on the row; retried later) or `idle` (nothing to send now).
   */
  async sendNext(): Promise<'sent' | 'failed' | 'idle'> {
    const { deps } = this;
    if (!this.transport) return 'idle';
    return deps.db.transaction(async (tx) => {
      const mail = await claimMail(tx, { maxAttempts: this.maxAttempts });
      if (!mail) return 'idle' as const;
      try {
        await this.transport!.sendMail({ from: deps.from, to: mail.toAddress, subject: mail.subject, text: mail.body, headers: { 'x-warden-mail': mail.kind } });
        await markMailSent(tx, mail.id);
        deps.logger.info({ mailId: mail.id, kind: mail.kind, attempts: mail.attempts + 1 }, 'mail sent');
        return 'sent' as const;
      } catch (err) {
        const attempts = mail.attempts + 1;
        const delay = Math.min(deps.maxBackoffMs ?? 30 * 60_000, (deps.minBackoffMs ?? 5000) * 2 ** (attempts - 1));
        await markMailFailed(tx, mail.id, errorText(err), delay);
        deps.logger.warn({ mailId: mail.id, kind: mail.kind, attempts, retryInMs: attempts < this.maxAttempts ? delay : null, err: errorText(err) }, attempts < this.maxAttempts ? 'mail not sent; will retry' : 'mail not sent; giving up');
        return 'failed' as const;
      }
    });
  }
}
