import { Inject, Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { REDIS, type RedisConnections } from '../live/redis-bridge.js';
import { APP_CONFIG, type AppConfig } from '../config.js';
import { DomainError } from '../common/domain-error.js';

export type LimitName = 'signInEmail' | 'signInIp' | 'totp' | 'invitations' | 'acceptance';

/**
 * Brute-force protection (rate-limiter-flexible): failed sign-ins per email, sign-in attempts per
 * IP, wrong second-factor codes per person, invitation requests per account, invitation look-ups
 * and accepts per IP. Answers 429 `RATE_LIMITED` with `Retry-After`.
 */
@Injectable()
export class RateLimitService {
  private readonly limiters: Record<LimitName, RateLimiterAbstract>;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(REDIS) redis: RedisConnections | null) {
    const { signInPerEmail, signInPerIp, totpPerPerson, invitationsPerAccount, acceptancePerIp, windowSeconds } = config.rateLimits;
    // With Redis the counters are shared by every node; otherwise they live in this process.
    const limiter = (keyPrefix: string, points: number): RateLimiterAbstract =>
      redis
        ? new RateLimiterRedis({ storeClient: redis.pub, useRedisPackage: true, keyPrefix: `${redis.prefix}:${keyPrefix}`, points, duration: windowSeconds })
        : new RateLimiterMemory({ keyPrefix, points, duration: windowSeconds });
    this.limiters = {
      signInEmail: limiter('signin-email', signInPerEmail),
      signInIp: limiter('signin-ip', signInPerIp),
      totp: limiter('totp', totpPerPerson),
      invitations: limiter('invitations', invitationsPerAccount),
      acceptance: limiter('acceptance', acceptancePerIp),
    };
  }

  /** Refuses when the key has no points left, without using one. */
  async check(name: LimitName, key: string): Promise<void> {
    const state = await this.limiters[name].get(key);
    if (state && state.remainingPoints <= 0) throw limited(state);
  }

  /** Uses one point; refuses when none were left. */
  async consume(name: LimitName, key: string): Promise<void> {
    try {
      await this.limiters[name].consume(key);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw limited(error);
      throw error;
    }
  }

  async reset(name: LimitName, key: string): Promise<void> {
    await this.limiters[name].delete(key);
  }
}

function limited(state: RateLimiterRes): DomainError {
  const retryAfterSeconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  return new DomainError('RATE_LIMITED', `Too many attempts. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
}
