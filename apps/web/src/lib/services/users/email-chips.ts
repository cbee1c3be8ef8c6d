/**
 * Emails typed or pasted as a list (the invite dialog's chips).
 */
import { emailSchema } from '@rolecall/contracts';

export interface EmailChip {
  /** What was typed, as typed. */
  raw: string;
  /** The normalised email when valid. */
  email: string | null;
  error: string | null;
}

/** Splits text on commas, semicolons, spaces and new lines; strips `Name <a@b.c>` wrappers. */
export function splitEmails(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((part) => part.replace(/^<|>$/g, '').trim())
    .filter(Boolean);
}

export function toChip(raw: string): EmailChip {
  const parsed = emailSchema.safeParse(raw);
  if (parsed.success) return { raw, email: parsed.data, error: null };
  return { raw, email: null, error: parsed.error.issues[0]?.message ?? 'Enter a valid email address' };
}

// ── Live list helpers ──────────────────────────────────────────────────────────────────────
