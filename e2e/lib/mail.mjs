// The emails the auth worker sent under `wrangler dev`. The `send_email` binding never sends there:
// Miniflare keeps each message (and logs its headers and the paths of its text and HTML parts,
// written under .wrangler/tmp/email/). Its local explorer lists them over HTTP on the worker's own
// port, which is how these checks read them back.
import { setTimeout as sleep } from "node:timers/promises";
import { AUTH_URL } from "./workers.mjs";

const SENT = `${AUTH_URL}/cdn-cgi/local/explorer/api/local/email/sending`;

/**
 * @typedef {{ messageId: string, from: string, to: string[], subject: string, sentAt: string, text?: string, html?: string }} KeptEmail
 */

/**
 * The newest email to `address` whose subject matches, once it has been sent (forgot-password
 * sends after answering, so it may take a moment).
 * @param {string} address
 * @param {RegExp} subject
 * @returns {Promise<KeptEmail>}
 */
export async function waitForEmail(address, subject, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const list = await explorer(`${SENT}?per_page=100`);
    const found = /** @type {KeptEmail[]} */ (list).find((mail) => mail.to.includes(address) && subject.test(mail.subject));
    if (found) return /** @type {KeptEmail} */ (await explorer(`${SENT}?email_id=${encodeURIComponent(found.messageId)}`));
    await sleep(200);
  }
  throw new Error(`no email to ${address} matching ${subject} within ${timeoutMs} ms`);
}

/** Every email to `address` kept so far. @param {string} address */
export async function emailsTo(address) {
  return /** @type {KeptEmail[]} */ (await explorer(`${SENT}?per_page=100`)).filter((mail) => mail.to.includes(address));
}

/** @param {string} url */
async function explorer(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok || !body.success) throw new Error(`local explorer ${url}: ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body.result;
}

/** The first link of an email's text body. @param {KeptEmail} mail */
export function linkIn(mail) {
  const url = /https?:\/\/\S+/.exec(mail.text ?? "")?.[0];
  if (!url) throw new Error(`no link in the email "${mail.subject}"`);
  return url;
}
