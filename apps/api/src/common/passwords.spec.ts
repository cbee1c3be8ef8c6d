import * as crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, PASSWORD_COST, type ScryptCost } from '../config.js';
import { Passwords } from './passwords.js';

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, scrypt: vi.fn(original.scrypt) };
});

const LOW: ScryptCost = { N: 1 << 10, r: 8, p: 1 };
/** The N of every scrypt call so far. */
const costsUsed = () => vi.mocked(crypto.scrypt).mock.calls.map((call) => (call[3] as crypto.ScryptOptions).N);

afterEach(() => vi.mocked(crypto.scrypt).mockClear());

describe(Passwords.name, () => {
  it('hashes at production cost unless a test lowers it: the environment cannot', async () => {
    expect(PASSWORD_COST).toEqual({ N: 1 << 15, r: 8, p: 1 });
    const config = loadConfig({ PASSWORD_COST: '1', SCRYPT_N: '2' });
    expect(config.passwordCost).toEqual(PASSWORD_COST);
    const stored = await new Passwords(config).hash('correct horse battery');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  });

  it('verifies a hash made at another cost (the cost can change without breaking stored hashes)', async () => {
    const low = new Passwords({ passwordCost: LOW });
    const production = new Passwords({ passwordCost: PASSWORD_COST });
    const stored = await low.hash('correct horse battery');
    expect(stored.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await production.verify('correct horse battery', stored)).toBe(true);
    expect(await production.verify('correct horse batterY', stored)).toBe(false);
    expect(costsUsed()).toEqual([1024, 1024, 1024]);
  });

  it('a raised cost hashes and verifies (scrypt’s memory cap follows the cost); an absurd stored cost is refused', async () => {
    const raised = new Passwords({ passwordCost: { N: 1 << 16, r: 8, p: 1 } });
    const stored = await raised.hash('correct horse battery');
    expect(await new Passwords({ passwordCost: PASSWORD_COST }).verify('correct horse battery', stored)).toBe(true);
    vi.mocked(crypto.scrypt).mockClear();
    expect(await raised.verify('x', 'scrypt$4194304$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA')).toBe(false);
    expect(costsUsed()).toEqual([]);
  });

  it('a fresh salt each time; NFKC-equal passwords match', async () => {
    const passwords = new Passwords({ passwordCost: LOW });
    const [a, b] = await Promise.all([passwords.hash('ﬁsh'), passwords.hash('ﬁsh')]);
    expect(a).not.toBe(b);
    expect(await passwords.verify('fish', a)).toBe(true);
  });

  it('an unknown person (no stored hash) costs one scrypt at the configured cost and is refused', async () => {
    const passwords = new Passwords({ passwordCost: LOW });
    expect(await passwords.verify('anything', null)).toBe(false);
    expect(costsUsed()).toEqual([1024]);
    vi.mocked(crypto.scrypt).mockClear();
    expect(await new Passwords({ passwordCost: PASSWORD_COST }).verify('anything', null)).toBe(false);
    expect(costsUsed()).toEqual([1 << 15]);
  });

  it('refuses a malformed stored hash without deriving anything', async () => {
    const passwords = new Passwords({ passwordCost: LOW });
    const damaged = ['3$8$1', '0$8$1', '1024$0$1', '1024$8$0', '1024$8$5', '1048576$16$1', 'x$8$1', '1024.5$8$1'].map(
      (cost) => `scrypt$${cost}$AAAAAAAAAAAAAAAAAAAAAA$AAAA`,
    );
    for (const stored of ['', 'bcrypt$2b$10$abc', 'scrypt$1024$8$1$salt', 'plain-text', ...damaged])
      expect(await passwords.verify('plain-text', stored)).toBe(false);
    expect(costsUsed()).toEqual([]);
  });
});
