/** The example SPA: every call to the service goes through the client package. */
import { AuthClient, AuthClientError, readLinkToken, type AuthEvent, type LinkPage, type Session, type SessionInfo } from "@edge-token-service/client";
import { setUpApiKeys } from "./api-keys.js";
import { revocableRow } from "./table-row.js";

// Substituted by esbuild at bundle time (serve.mjs).
declare const AUTH_URL: string;
declare const DOWNSTREAM_URL: string;

// An emailed link (#/<page>?token=...): read it, and take the token out of the address bar, before
// anything else runs. The token then lives in this variable only.
const link = readLinkToken();

// The downstream API is the one other origin the access token may go to.
const client = new AuthClient({ baseUrl: AUTH_URL, apiOrigins: [DOWNSTREAM_URL] });
// For the e2e tests and for poking around in devtools.
(window as unknown as { spa: { client: AuthClient } }).spa = { client };

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function log(line: string) {
  const el = $("log");
  el.textContent = `${new Date().toLocaleTimeString()} ${line}\n${el.textContent ?? ""}`;
}

function showError(err: unknown) {
  const text = err instanceof AuthClientError ? `${err.code}: ${err.message}` : String(err);
  $("error").textContent = text;
  log(`error ${text}`);
}

function render(session: Session | null) {
  document.body.dataset.state = session ? "signed-in" : "signed-out";
  $("status").textContent = session ? `signed in (user ${session.claims.sub}, session ${session.claims.sid})` : "signed out";
  $("claims").textContent = session ? JSON.stringify(session.claims, null, 2) : "";
  $("email-status").textContent = session ? (session.claims.email_verified ? "verified" : "not verified") : "?";
  if (!session) {
    $("sessions").replaceChildren();
    apiKeys.clear();
  }
  renderExpiry();
}

function renderExpiry() {
  const session = client.session;
  $("expires-in").textContent = session ? String(Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000))) : "?";
}

/** Shows a raw HTTP answer. */
async function showAnswer(label: string, res: Response): Promise<void> {
  const text = res.status === 204 ? "" : await res.text();
  $("result").textContent = `${label} -> ${res.status}\n${text}`;
  log(`${label} -> ${res.status}`);
}

/** Runs a UI action, reporting failures instead of leaving an unhandled rejection. */
function action(id: string, fn: () => Promise<unknown>, event = "click") {
  $(id).addEventListener(event, (e) => {
    e.preventDefault();
    $("error").textContent = "";
    fn().catch(showError);
  });
}

function credentials() {
  return { email: $<HTMLInputElement>("email").value, password: $<HTMLInputElement>("password").value };
}

action(
  "auth-form",
  async () => {
    const user = await client.login(credentials());
    log(`logged in as ${user.email}`);
  },
  "submit",
);

action("register", async () => {
  const user = await client.register(credentials());
  log(`registered ${user.email}`);
});

// The raw HTTP answer, through fetchWithAuth (`client.me()` is the typed wrapper of the same call).
action("call-me", async () => showAnswer("GET /auth/me", await client.fetchWithAuth("/auth/me")));

action("call-downstream", async () => showAnswer("GET downstream /api/me", await client.fetchWithAuth(`${DOWNSTREAM_URL}/api/me`)));

action("list-sessions", listSessions);

action("logout", async () => {
  await client.logout();
  log("logged out");
});

action("logout-all", async () => {
  await client.logoutAll();
  log("logged out on every device");
});

action(
  "password-form",
  async () => {
    const currentPassword = $<HTMLInputElement>("current-password").value;
    const newPassword = $<HTMLInputElement>("new-password").value;
    await client.changePassword({ currentPassword, newPassword });
    $<HTMLFormElement>("password-form").reset();
    showValue("changePassword()", "done: the other sessions are ended");
  },
  "submit",
);

action(
  "forgot-form",
  async () => {
    await client.requestPasswordReset({ email: $<HTMLInputElement>("forgot-email").value });
    showValue("requestPasswordReset()", "if the address has an account, a reset link is on its way");
  },
  "submit",
);

action("resend-verification", async () => {
  await client.resendVerification();
  showValue("resendVerification()", "a new verification link is on its way");
});

action(
  "email-form",
  async () => {
    const newEmail = $<HTMLInputElement>("new-email").value;
    await client.changeEmail({ newEmail, currentPassword: $<HTMLInputElement>("email-current-password").value });
    $<HTMLFormElement>("email-form").reset();
    showValue("changeEmail()", `a confirmation link was sent to ${newEmail}`);
  },
  "submit",
);

/** The page an emailed link opened: verify and confirm at once; reset asks for the new password. */
async function openLink(page: LinkPage, token: string) {
  const section = $("link-page");
  section.dataset.page = page;
  const result = (text: string) => {
    $("link-result").textContent = text;
    log(text);
  };
  if (page === "verify-email") {
    $("link-title").textContent = "Email verification";
    await client.verifyEmail({ token });
    result("Your email address is verified.");
  } else if (page === "confirm-email-change") {
    $("link-title").textContent = "Email change";
    await client.confirmEmailChange({ token });
    result("Your email address is changed.");
  } else {
    $("link-title").textContent = "Choose a new password";
    action(
      "reset-form",
      async () => {
        await client.resetPassword({ token, newPassword: $<HTMLInputElement>("reset-new-password").value });
        delete section.dataset.page; // hides the form
        section.dataset.done = "reset-password";
        result("Your password is changed and every device was signed out. Log in with the new password.");
      },
      "submit",
    );
  }
}

/** Shows what a typed call returned. */
function showValue(label: string, value: unknown) {
  $("result").textContent = `${label}\n${typeof value === "string" ? value : JSON.stringify(value, null, 2)}`;
  log(label);
}

async function listSessions() {
  const sessions = await client.listSessions();
  showValue(`listSessions(): ${sessions.length}`, { sessions });
  $("sessions").replaceChildren(...sessions.map(sessionRow));
}

function sessionRow(s: SessionInfo): HTMLTableRowElement {
  const revoke = async () => {
    await client.revokeSession(s.id); // the current one signs this browser out
    showValue(`revokeSession(${s.id})`, "done");
    if (!s.current) await listSessions();
  };
  const row = revocableRow([s.id + (s.current ? " (this one)" : ""), s.created_at, s.last_used_at, s.user_agent ?? ""], "revoke", revoke, showError);
  row.dataset.sessionId = s.id;
  return row;
}

const apiKeys = setUpApiKeys(client, { $, action, showValue });

client.onChange((event: AuthEvent, session) => {
  log(session ? `${event}: access token ${session.claims.jti} (expires in ${Math.round((session.expiresAt - Date.now()) / 1000)} s)` : event);
  render(session);
});
setInterval(renderExpiry, 1000);

client
  .restore()
  .then(async (session) => {
    log(session ? "session restored from the refresh cookie" : "no session to restore");
    render(session);
    if (link) await openLink(link.page, link.token);
  })
  .catch((err: unknown) => {
    render(null);
    showError(err);
  });
