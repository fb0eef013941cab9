/** Bindings and vars of the worker, as declared in wrangler.toml (secrets in `.dev.vars` locally). */
export interface Env {
  /** The default (first) user database; USER_DATABASES may name more D1 bindings. */
  DB: D1Database;
  REVOCATIONS: KVNamespace;
  /** Analytics Engine dataset for per-refresh telemetry; absent: nothing is recorded. */
  REFRESH_TELEMETRY?: AnalyticsEngineDataset;
  /** Workers Rate Limiting bindings (wrangler.toml `[[ratelimits]]`). Absent binding: no limit. */
  AUTH_RATE_LIMITER?: RateLimit;
  LOGIN_RATE_LIMITER?: RateLimit;
  LOGIN_EMAIL_RATE_LIMITER?: RateLimit;
  FAILED_LOGIN_RATE_LIMITER?: RateLimit;
  REGISTER_RATE_LIMITER?: RateLimit;
  REFRESH_RATE_LIMITER?: RateLimit;
  REFRESH_FAMILY_RATE_LIMITER?: RateLimit;
  INTROSPECTION_RATE_LIMITER?: RateLimit;
  /** Account emails sent (forgot password, resend verification, email change), per email and per network. */
  EMAIL_RATE_LIMITER?: RateLimit;
  /** Token requests of one API key (client_credentials), per key id. */
  API_KEY_RATE_LIMITER?: RateLimit;
  /** Cloudflare Email Service (`[[send_email]]`); absent: no account emails, the email endpoints answer 404. */
  EMAIL?: SendEmail;
  /** Secret: the operator credential of the /admin endpoints; unset, only access tokens granting the permission are accepted. */
  ADMIN_API_TOKEN?: string;
  /** RS256 private key: PKCS#8 PEM or a private JWK (JSON). A Worker secret. */
  SIGNING_KEY?: string;
  /** JSON array (or JWKS object) of keys still published after a rotation; private members are stripped. */
  PREVIOUS_PUBLIC_KEYS?: string;
  /** Public JWK of the key that will sign after the next rotation, published ahead of time. */
  NEXT_PUBLIC_KEY?: string;
  /** MAC key of refresh tokens: 32+ random bytes, base64url. A Worker secret. */
  REFRESH_TOKEN_KEY?: string;
  /** The MAC key before the last rotation of REFRESH_TOKEN_KEY, still accepted. */
  PREVIOUS_REFRESH_TOKEN_KEY?: string;
  ISSUER?: string;
  AUDIENCE?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  REFRESH_TOKEN_TTL_SECONDS?: string;
  SESSION_ABSOLUTE_TTL_SECONDS?: string;
  SESSION_IDLE_TIMEOUT_SECONDS?: string;
  REFRESH_GRACE_SECONDS?: string;
  ALLOWED_ORIGINS?: string;
  COOKIE_SAMESITE?: string;
  /** Comma-separated D1 binding names users are spread over; default "DB". */
  USER_DATABASES?: string;
  /** JSON object of the OAuth clients besides "web": `{"ios": {}, "admin-spa": {"origins": ["https://..."]}}`. */
  OAUTH_CLIENTS?: string;
  /** JSON object of role -> permissions (the access token's `scope`): `{"user": ["profile:read"], ...}`. */
  ROLE_PERMISSIONS?: string;
  /** Sender address of account emails (an address on the domain onboarded to Email Service). */
  EMAIL_FROM?: string;
  /** Optional display name of the sender. */
  EMAIL_FROM_NAME?: string;
  /** Base URL of the front end that shows the link pages; default http://localhost:5173. */
  APP_URL?: string;
  EMAIL_VERIFICATION_TTL_SECONDS?: string;
  PASSWORD_RESET_TTL_SECONDS?: string;
  EMAIL_CHANGE_TTL_SECONDS?: string;
  /** "true": unverified users cannot log in. Default "false". */
  REQUIRE_VERIFIED_EMAIL?: string;
  /** "true" in .dev.vars only: print each emailed link to the dev console (ignored unless ISSUER is localhost). */
  DEV_PRINT_EMAIL_LINKS?: string;
  /** Secret: JSON object of resource-server id -> secret, for the introspection endpoint. */
  RESOURCE_SERVERS?: string;
}
