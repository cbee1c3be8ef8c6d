import { escapeHtml, type Mail } from './mail.service.js';

export interface InvitationMailInput {
  to: string;
  accountName: string;
  inviterName: string;
  inviterEmail: string;
  link: string;
  expiresAt: string;
}

/** The invitation mail: a plain-text and an HTML part naming the account and the inviter. */
export function invitationMail(input: InvitationMailInput): Mail {
  const expires = new Date(input.expiresAt).toUTCString();
  const subject = `${input.inviterName} invited you to ${input.accountName} on Rolecall`;
  const text = [
    `${input.inviterName} (${input.inviterEmail}) invited you to join ${input.accountName} on Rolecall.`,
    '',
    'Accept the invitation:',
    input.link,
    '',
    `The link works once and expires on ${expires}.`,
    'If you did not expect this, you can ignore this mail.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1f2330">
<p><strong>${escapeHtml(input.inviterName)}</strong> (${escapeHtml(input.inviterEmail)}) invited you to join <strong>${escapeHtml(input.accountName)}</strong> on Rolecall.</p>
<p><a href="${escapeHtml(input.link)}" style="display:inline-block;padding:10px 16px;background:#4f46e5;color:#fff;border-radius:6px;text-decoration:none">Accept the invitation</a></p>
<p style="color:#5b6070">Or open this link: ${escapeHtml(input.link)}<br>It works once and expires on ${escapeHtml(expires)}.</p>
</body></html>`;
  return { to: input.to, subject, text, html };
}
