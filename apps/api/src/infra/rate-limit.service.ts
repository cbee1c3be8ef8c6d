import { Inject, Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { setTimeout as sleep } from 'node:timers/promises';
import { REDIS, type RedisConnections } from './redis-bridge.js';
import { APP_CONFIG, type AppConfig, type RateLimitConfig } from '../config.js';
import { DomainError } from '../common/domain-error.js';
import { countRateLimited } from '../common/observability/metrics.js';

export type LimitName =
  | 'signInIp'
  | 'totp'
  | 'invitations'
  | 'acceptance'
  | 'passwordResetEmail'
  | 'passwordResetIp'
  | 'verifyEmail'
  | 'links'
  | 'scimFailures';

/** Failed passwords per (email, IP): refuses that IP for that email. */
const EMAIL_FROM_IP = 'signInEmailIp';
/** Failed passwords per email from every IP: only counts, for the slowdown. */
const EMAIL_FAILURES = 'signInFailures';

/**
 * Brute-force protection (rate-limiter-flexible): sign-in attempts per IP, failed passwords per
 * (email, IP), wrong second-factor codes per person, invitation requests per account, invitation
 * look-ups and accepts per IP, password-reset requests per email and per IP, verification mails per
 * person, mailed-link uses per IP. Answers 429 `RATE_LIMITED` with `Retry-After`.
 *
 * Failed passwords per email across all IPs never refuse — that would let anyone lock the owner out
 * with ten wrong guesses — they slow every attempt at that email down instead (`passwordAttempt`).
 */
@Injectable()
export class RateLimitService {
  private readonly limiters: Record<LimitName | typeof EMAIL_FROM_IP | typeof EMAIL_FAILURES, RateLimiterAbstract>;
  private readonly slowdown: RateLimitConfig['signInSlowdown'];

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(REDIS) redis: RedisConnections | null) {
    const limits = config.rateLimits;
    this.slowdown = limits.signInSlowdown;
    // With Redis the counters are shared by every node; otherwise they live in this process. While
    // Redis is unreachable each node counts in memory (see `sharedLimiter` in live-limits.ts for why):
    // sign-in keeps working and keeps its brute-force limits, per node, instead of answering 500.
    const limiter = (keyPrefix: string, points: number): RateLimiterAbstract => {
      const memory = new RateLimiterMemory({ keyPrefix, points, duration: limits.windowSeconds });
      if (!redis) return memory;
      return new RateLimiterRedis({
        storeClient: redis.limits,
        useRedisPackage: true,
        keyPrefix: `${redis.prefix}:${keyPrefix}`,
        points,
        duration: limits.windowSeconds,
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      });
    };
    this.limiters = {
      [EMAIL_FROM_IP]: limiter('signin-email-ip', limits.signInPerEmail),
      [EMAIL_FAILURES]: limiter('signin-failures', Number.MAX_SAFE_INTEGER),
      signInIp: limiter('signin-ip', limits.signInPerIp),
      totp: limiter('totp', limits.totpPerPerson),
      invitations: limiter('invitations', limits.invitationsPerAccount),
      acceptance: limiter('acceptance', limits.acceptancePerIp),
      passwordResetEmail: limiter('reset-email', limits.passwordResetPerEmail),
      passwordResetIp: limiter('reset-ip', limits.passwordResetPerIp),
      verifyEmail: limiter('verify-email', limits.verifyEmailPerPerson),
      links: limiter('links', limits.linksPerIp),
      scimFailures: limiter('scim-failures', limits.scimFailuresPerIp),
    };
  }

  /** Refuses when the key has no points left, without using one. */
  async check(name: LimitName, key: string): Promise<void> {
    await this.refuseIfSpent(name, key);
  }

  /** Uses one point; refuses when none were left. */
  async consume(name: LimitName, key: string): Promise<void> {
    try {
      await this.limiters[name].consume(key);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw limited(name, error);
      throw error;
    }
  }

  async reset(name: LimitName, key: string): Promise<void> {
    await this.limiters[name].delete(key);
  }

  /**
   * Before a password is checked: refused (429) when this IP has failed too often for this email;
   * otherwise waits as long as the email's failures from every IP call for — whatever the password
   * turns out to be, so the wait tells nothing.
   */
  async passwordAttempt(email: string, ip: string): Promise<void> {
    await this.refuseIfSpent(EMAIL_FROM_IP, `${email}|${ip}`);
    const failures = (await this.limiters[EMAIL_FAILURES].get(email))?.consumedPoints ?? 0;
    const delay = slowdownMs(failures, this.slowdown);
    if (delay > 0) await sleep(delay);
  }

  async passwordFailed(email: string, ip: string): Promise<void> {
    await Promise.all([
      this.limiters[EMAIL_FROM_IP].penalty(`${email}|${ip}`, 1),
      this.limiters[EMAIL_FAILURES].penalty(email, 1),
    ]);
  }

  /**
   * The right password from this IP: its count starts again. The email's slowdown stays until its
   * window ends — the owner signing in must not hand an attacker a fresh run of fast guesses.
   */
  async passwordSucceeded(email: string, ip: string): Promise<void> {
    await this.limiters[EMAIL_FROM_IP].delete(`${email}|${ip}`);
  }

  /** A new password was set through a mailed link: earlier failures no longer say anything. */
  async passwordChanged(email: string): Promise<void> {
    await this.limiters[EMAIL_FAILURES].delete(email);
  }

  private async refuseIfSpent(name: LimitName | typeof EMAIL_FROM_IP, key: string): Promise<void> {
    const state = await this.limiters[name].get(key);
    if (state && state.remainingPoints <= 0) throw limited(name, state);
  }
}

/** The wait before a password check after `failures` failures at one email: doubling past `after`, capped. */
function slowdownMs(failures: number, { after, stepMs, maxMs }: RateLimitConfig['signInSlowdown']): number {
  if (failures < after) return 0;
  return Math.min(maxMs, stepMs * 2 ** Math.min(30, failures - after));
}

/** A refusal: counted by limit in `rolecall_rate_limit_refusals_total`, answered 429 with Retry-After. */
function limited(name: string, state: RateLimiterRes): DomainError {
  countRateLimited(name);
  const retryAfterSeconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  return new DomainError('RATE_LIMITED', `Too many attempts. Try again in ${retryAfterSeconds} seconds.`, {
    retryAfterSeconds,
  });
}
