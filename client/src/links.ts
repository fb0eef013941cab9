/**
 * The service's emailed links open the front end at `<APP_URL>/#/<page>?token=<token>`: the token
 * is in the fragment, which browsers never send to a server, nor put in `Referer`.
 */

/** The pages the service links to. */
export type LinkPage = "verify-email" | "reset-password" | "confirm-email-change";

const LINK = /^#\/(verify-email|reset-password|confirm-email-change)\?(?:.*&)?token=([A-Za-z0-9_-]+)/;

/**
 * Reads the page and token of an emailed link from the current URL and removes the token from the
 * address bar (and from the history entry) at once, so that it cannot leak later through a
 * bookmark, a shared screen or the history. Null when the URL is not such a link.
 */
export function readLinkToken(win: Pick<Window, "location" | "history"> = window): { page: LinkPage; token: string } | null {
  const match = LINK.exec(win.location.hash);
  if (!match) return null;
  const page = match[1] as LinkPage;
  win.history.replaceState(win.history.state, "", `${win.location.pathname}${win.location.search}#/${page}`);
  return { page, token: match[2]! };
}
