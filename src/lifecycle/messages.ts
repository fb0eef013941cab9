/**
 * The account emails: subject, plain text and a small HTML body each. No images, no remote
 * content, no tracking; the only link is the action link, whose token sits in the URL fragment.
 */

/** What a message says, before it has a recipient. */
export interface MessageBody {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** "30 minutes", "1 hour", "24 hours". */
export function lifetime(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120 && minutes % 60 !== 0) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  return `${hours} hour${hours === 1 ? "" : "s"}`;
}

/** Paragraphs of text, and one action link shown as a button in HTML and as a bare URL in text. */
function compose(subject: string, paragraphs: string[], action?: { label: string; url: string }, footer?: string): MessageBody {
  const textParts = [...paragraphs, ...(action ? [`${action.label}:\n${action.url}`] : []), ...(footer ? [footer] : [])];
  const htmlParts = [
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(action
      ? [
          `<p><a href="${escapeHtml(action.url)}" style="display:inline-block;padding:10px 16px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px">${escapeHtml(action.label)}</a></p>`,
          `<p style="font-size:13px;color:#555555">Or paste this address into your browser:<br>${escapeHtml(action.url)}</p>`,
        ]
      : []),
    ...(footer ? [`<p style="font-size:13px;color:#555555">${escapeHtml(footer)}</p>`] : []),
  ];
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1d2430">${htmlParts.join("")}</body></html>`;
  return { subject, text: `${textParts.join("\n\n")}\n`, html };
}

export const messages = {
  verifyEmail: (app: string, url: string, ttlMs: number) =>
    compose(`Verify your email address for ${app}`, [`Confirm that this address belongs to you. The link works once, for ${lifetime(ttlMs)}.`], { label: "Verify email address", url }, "If you did not create an account, ignore this email."),

  resetPassword: (app: string, url: string, ttlMs: number) =>
    compose(`Reset your ${app} password`, [`Someone asked to reset the password of your account. The link works once, for ${lifetime(ttlMs)}.`], { label: "Choose a new password", url }, "If it was not you, ignore this email: your password stays as it is."),

  passwordChanged: (app: string) =>
    compose(`Your ${app} password was changed`, [
      "The password of your account was just reset, and every device was signed out.",
      "If you did not do this, reset your password again right away and check the email address of your account.",
    ]),

  confirmEmailChange: (app: string, url: string, ttlMs: number, newEmail: string) =>
    compose(`Confirm your new email address for ${app}`, [`Confirm that ${newEmail} is the new email address of your account. The link works once, for ${lifetime(ttlMs)}.`], { label: "Confirm new address", url }, "If you did not ask for this, ignore this email: nothing changes."),

  emailChangeRequested: (app: string, newEmail: string) =>
    compose(`Your ${app} email address is being changed`, [
      `Someone signed in to your account asked to change its email address to ${newEmail}. It changes only once that address confirms.`,
      "If this was not you, change your password now: that signs out every other device.",
    ]),
};
