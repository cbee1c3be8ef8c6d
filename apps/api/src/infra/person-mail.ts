import { escapeHtml, type Mail } from './mail.service.js';
import type { IssuedLink } from '../database/email-links.js';

const BUTTON =
  'display:inline-block;padding:10px 16px;background:#4f46e5;color:#fff;border-radius:6px;text-decoration:none';

/** A mail with one link: the paragraphs, a button, the link spelled out and when it expires. */
function mail(link: IssuedLink, subject: string, paragraphs: string[], button: string, footer: string): Mail {
  const expires = new Date(link.expiresAt).toUTCString();
  const text = [
    ...paragraphs,
    '',
    `${button}:`,
    link.url,
    '',
    `The link works once and expires on ${expires}.`,
    footer,
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1f2330">
${paragraphs.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
<p><a href="${escapeHtml(link.url)}" style="${BUTTON}">${escapeHtml(button)}</a></p>
<p style="color:#5b6070">Or open this link: ${escapeHtml(link.url)}<br>It works once and expires on ${escapeHtml(expires)}.<br>${escapeHtml(footer)}</p>
</body></html>`;
  return { to: link.to, subject, text, html };
}

/**
 * Sent at sign-up. Worded for the case where somebody else signed up with this address: confirming
 * is only for the person who signed up; the real owner of the mailbox may take the login over.
 */
export function verificationMail(link: IssuedLink): Mail {
  return mail(
    link,
    'Confirm your email address for Rolecall',
    ['Someone signed up for Rolecall with this email address. If it was you, confirm the address.'],
    'Confirm my email address',
    'If you did not sign up, this address is still yours: the link lets you take that login over, or you can ignore this mail.',
  );
}

export function passwordResetMail(link: IssuedLink): Mail {
  return mail(
    link,
    'Reset your Rolecall password',
    ['Someone asked to reset the password of your Rolecall login.'],
    'Choose a new password',
    'If you did not ask for this, ignore this mail: your password stays as it is.',
  );
}

/** Sent when an admin resets a member's 2FA: the old password stops working until a new one is chosen. */
export function twoFactorResetMail(link: IssuedLink, by: { adminName: string; accountName: string }): Mail {
  const said = `${by.adminName}, an admin of ${by.accountName}, reset the two-factor authentication of your Rolecall login.`;
  const then =
    'Your authenticator app and recovery codes no longer work, and neither does your password until you choose a new one. When you next sign in, you will set up two-factor authentication again.';
  return mail(
    link,
    'Your Rolecall two-factor authentication was reset',
    [said, then],
    'Choose a new password',
    'If you did not expect this, tell the admins of your Rolecall accounts.',
  );
}
