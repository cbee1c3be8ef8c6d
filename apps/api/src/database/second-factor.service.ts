import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { sha256Hex } from '../common/tokens.js';
import { PersonEntity } from './entities/person.entity.js';

const TOTP_ISSUER = 'Rolecall';
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** `xxxxx-xxxxx` from an alphabet without look-alikes (0/o, 1/l/i): ~49 bits each. */
function recoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((byte) => RECOVERY_ALPHABET[byte % RECOVERY_ALPHABET.length]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

const normaliseRecovery = (code: string): string => {
  const compact = code.trim().toLowerCase().replace(/-/g, '');
  return `${compact.slice(0, 5)}-${compact.slice(5)}`;
};

/**
 * TOTP (RFC 6238: 30 s, 6 digits, SHA-1, base32) through otplib, QR codes through qrcode, and
 * single-use recovery codes stored as SHA-256. A TOTP code is accepted once: the last time step
 * used is kept, and a code from the same or an earlier step is refused.
 */
@Injectable()
export class SecondFactorService {
  constructor(@Inject(Clock) private readonly clock: Clock) {}

  async newEnrolment(email: string): Promise<{ secret: string; otpauthUrl: string; qrSvg: string }> {
    const secret = generateSecret();
    const otpauthUrl = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
    const qrSvg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret, otpauthUrl, qrSvg };
  }

  newRecoveryCodes(): { codes: string[]; hashes: string[] } {
    const codes = Array.from({ length: 10 }, recoveryCode);
    return { codes, hashes: codes.map((code) => sha256Hex(code)) };
  }

  /** Checks a 6-digit code against `secret`; returns the time step it matched, or null. */
  async checkTotp(secret: string, code: string, lastStep: number | null): Promise<number | null> {
    if (!/^\d{6}$/.test(code.trim())) return null;
    const result = await verify({
      secret,
      token: code.trim(),
      epoch: Math.floor(this.clock.now().getTime() / 1000),
      epochTolerance: 30,
      ...(lastStep === null ? {} : { afterTimeStep: lastStep }),
    });
    return result.valid ? (result as { timeStep: number }).timeStep : null;
  }

  /**
   * Verifies a TOTP code or an unused recovery code for a person with 2FA and records its use in
   * the same transaction (the caller holds it), so concurrent uses of one code cannot both pass.
   */
  async verifyAndConsume(manager: EntityManager, personId: string, code: string): Promise<boolean> {
    const repo = manager.getRepository(PersonEntity);
    const person = await repo.findOneByOrFail({ id: personId });
    if (!person.totpSecret) return false;
    const step = await this.checkTotp(person.totpSecret, code, person.totpLastStep);
    if (step !== null) {
      const result = await repo
        .createQueryBuilder()
        .update()
        .set({ totpLastStep: step })
        .where('id = :id', { id: personId })
        .andWhere('(totp_last_step IS NULL OR totp_last_step < :step)', { step })
        .execute();
      return (result.affected ?? 1) > 0;
    }
    const hash = sha256Hex(normaliseRecovery(code));
    const remaining = person.recoveryCodes ?? [];
    if (!remaining.includes(hash)) return false;
    await repo.update({ id: personId }, { recoveryCodes: remaining.filter((h) => h !== hash) });
    return true;
  }
}
