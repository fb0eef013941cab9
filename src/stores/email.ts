/**
 * Account emails through Cloudflare Email Service: the `send_email` binding's structured
 * `send({ from, to, subject, text, html })`. Under `wrangler dev` the binding keeps each message
 * on the machine (README.md, "Account emails").
 */
import { EmailUnavailableError } from "../domain-errors";
import type { EmailMessage, EmailSender } from "./types";

/** The sender over the binding; undefined without one (the worker then sends no email). */
export function bindingEmailSender(binding: SendEmail | undefined, from: { email: string; name?: string } | undefined): EmailSender | undefined {
  if (!binding || !from) return undefined;
  return {
    async send(message: EmailMessage) {
      try {
        await binding.send({
          from: from.name ? { email: from.email, name: from.name } : from.email,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
        });
      } catch (err) {
        // The cause's message may name the recipient: it goes to the log by name and code only (src/errors.ts).
        throw new EmailUnavailableError(err);
      }
    },
  };
}
