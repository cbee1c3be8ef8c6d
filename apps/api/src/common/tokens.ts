import { createHash, randomBytes } from 'node:crypto';

/** An opaque secret of 256 random bits, URL-safe. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** Tokens are stored only as their SHA-256. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');
