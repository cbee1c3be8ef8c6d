import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { SecretBox } from './secret-box.js';

const dirs: string[] = [];
function box(secretsKey: Buffer | null = null): { box: SecretBox; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'rolecall-secrets-'));
  dirs.push(dataDir);
  const config = loadConfig({}, { dataDir });
  return { box: new SecretBox({ ...config, sso: { ...config.sso, secretsKey } }), dataDir };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe(SecretBox.name, () => {
  it('seals with AES-256-GCM and opens again, a new IV each time', () => {
    const { box: secrets } = box(randomBytes(32));
    const a = secrets.seal('okta-secret', 'account-1');
    const b = secrets.seal('okta-secret', 'account-1');
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('okta-secret');
    expect(secrets.open(a, 'account-1')).toBe('okta-secret');
  });

  it('refuses a value of another account, an altered value, or another key', () => {
    const key = randomBytes(32);
    const { box: secrets } = box(key);
    const sealed = secrets.seal('okta-secret', 'account-1');
    expect(() => secrets.open(sealed, 'account-2')).toThrow();
    const [v, iv, data, tag] = sealed.split('.');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => secrets.open([v, iv, flipped.toString('base64url'), tag].join('.'), 'account-1')).toThrow();
    expect(() => box(randomBytes(32)).box.open(sealed, 'account-1')).toThrow();
  });

  it('without SECRETS_KEY, generates a key file once in DATA_DIR and keeps using it', () => {
    const { box: first, dataDir } = box();
    const sealed = first.seal('okta-secret', 'account-1');
    const file = join(dataDir, 'secrets.key');
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = loadConfig({}, { dataDir });
    expect(new SecretBox(config).open(sealed, 'account-1')).toBe('okta-secret');
  });

  it('SECRETS_KEY must be 32 bytes', () => {
    expect(() => loadConfig({ SECRETS_KEY: randomBytes(16).toString('base64') })).toThrow(/32 bytes/);
    expect(loadConfig({ SECRETS_KEY: randomBytes(32).toString('base64') }).sso.secretsKey).toHaveLength(32);
  });
});
