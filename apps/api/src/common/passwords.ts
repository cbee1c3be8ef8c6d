import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, type AppConfig, type ScryptCost } from '../config.js';

const KEY_LENGTH = 32;
/** The most memory a stored hash may ask of scrypt (`memoryOf`): N = 2^20 at r = 8. */
const MAX_MEMORY = 1024 * 1024 * 1024;

/** What scrypt allocates for a cost: ~128·N·r bytes. */
const memoryOf = ({ N, r }: ScryptCost): number => 128 * N * r;

/**
 * Parameters scrypt accepts and this server will spend: N a power of two from 2, r and p from 1, p at
 * most 4, at most MAX_MEMORY. Anything else in a stored hash (a damaged row) is refused without
 * deriving: scrypt would throw on it (a 500 at sign-in) or take gigabytes and seconds.
 */
const affordable = (cost: ScryptCost): boolean => {
  const { N, r, p } = cost;
  return (
    [N, r, p].every(Number.isSafeInteger) &&
    N >= 2 &&
    (N & (N - 1)) === 0 &&
    r >= 1 &&
    p >= 1 &&
    p <= 4 &&
    memoryOf(cost) <= MAX_MEMORY
  );
};

/** scrypt's default memory cap (32 MiB) is below production's cost, so the cap follows the cost. */
function derive(password: string, salt: Buffer, params: ScryptCost): Promise<Buffer> {
  const maxmem = memoryOf(params) + 128 * params.r * params.p + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/**
 * Password hashes: scrypt at the configured cost (`AppConfig.passwordCost`; production's is
 * `PASSWORD_COST`, only tests lower it). A hash records its own parameters (`scrypt$N$r$p$salt$hash`),
 * so one made at another cost still verifies, and the cost can be raised without breaking old hashes.
 */
@Injectable()
export class Passwords {
  /** Verified against when the email is unknown, at the configured cost, so both answers take the same time. */
  private readonly dummyHash: string;
  private readonly cost: ScryptCost;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'passwordCost'>) {
    this.cost = config.passwordCost;
    this.dummyHash = `scrypt$${this.cost.N}$${this.cost.r}$${this.cost.p}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const { N, r, p } = this.cost;
    const key = await derive(password, salt, { N, r, p });
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /** Whether `password` matches `stored`; with no stored hash it does the same work and answers false. */
  async verify(password: string, stored: string | null): Promise<boolean> {
    const parts = (stored ?? this.dummyHash).split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
    const cost = { N: Number(n), r: Number(r), p: Number(p) };
    if (!affordable(cost)) return false;
    const expected = Buffer.from(hash, 'base64url');
    const key = await derive(password, Buffer.from(salt, 'base64url'), cost);
    return stored !== null && key.length === expected.length && timingSafeEqual(key, expected);
  }
}
