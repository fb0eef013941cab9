/** The example SPA: every call to the service goes through the typed client module. */
import { AuthClient, AuthClientError, type Session } from "../../client/src/index";

// Substituted by esbuild at bundle time (serve.mjs).
declare const AUTH_URL: string;
declare const DOWNSTREAM_URL: string;

const client = new AuthClient({ baseUrl: AUTH_URL });
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
  if (!session) $("sessions").replaceChildren();
  renderExpiry();
}

function renderExpiry() {
  const session = client.session;
  $("expires-in").textContent = session ? String(Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000))) : "?";
}

/** Shows an API answer; returns its body text. */
async function showAnswer(label: string, res: Response): Promise<string> {
  const text = res.status === 204 ? "" : await res.text();
  $("result").textContent = `${label} -> ${res.status}\n${text}`;
  log(`${label} -> ${res.status}`);
  return text;
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
    const { email, password } = credentials();
    const user = await client.login(email, password);
    log(`logged in as ${user.email}`);
  },
  "submit",
);

action("register", async () => {
  const { email, password } = credentials();
  const user = await client.register(email, password);
  log(`registered ${user.email}`);
});

action("call-me", async () => showAnswer("GET /auth/me", await client.fetchWithAuth("/auth/me")));

action("call-downstream", async () => showAnswer("GET downstream /jose/me", await client.fetchWithAuth(`${DOWNSTREAM_URL}/jose/me`)));

action("list-sessions", listSessions);

action("logout", async () => {
  await client.logout();
  log("logged out");
});

interface SessionRow {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  current: boolean;
}

async function listSessions() {
  const res = await client.fetchWithAuth("/auth/sessions");
  const text = await showAnswer("GET /auth/sessions", res);
  if (!res.ok) return;
  const { sessions } = JSON.parse(text) as { sessions: SessionRow[] };
  $("sessions").replaceChildren(...sessions.map(sessionRow));
}

function sessionRow(s: SessionRow): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.sessionId = s.id;
  for (const text of [s.id + (s.current ? " (this one)" : ""), s.created_at, s.last_used_at, s.user_agent ?? ""]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  const revoke = document.createElement("button");
  revoke.textContent = "Revoke";
  revoke.className = "revoke";
  revoke.addEventListener("click", () => {
    void (async () => {
      await showAnswer(`DELETE /auth/sessions/${s.id}`, await client.fetchWithAuth(`/auth/sessions/${s.id}`, { method: "DELETE" }));
      if (!s.current) await listSessions();
    })().catch(showError);
  });
  const cell = document.createElement("td");
  cell.append(revoke);
  row.append(cell);
  return row;
}

client.onChange((session) => {
  log(session ? `access token ${session.claims.jti} (expires in ${Math.round((session.expiresAt - Date.now()) / 1000)} s)` : "signed out");
  render(session);
});
setInterval(renderExpiry, 1000);

client
  .restore()
  .then((session) => {
    log(session ? "session restored from the refresh cookie" : "no session to restore");
    render(session);
  })
  .catch((err: unknown) => {
    render(null);
    showError(err);
  });
