/**
 * Hand mutations of security-relevant lines, each with the tests that must fail on it
 * (CONTRIBUTING.md, "Mutation checks"; run with `node test/mutations/run.mjs`).
 *
 * - `replace`: [find, replacement] pairs; each `find` must occur exactly once in `file`.
 * - `killers`: a test file and a substring of the test's title (vitest `-t`); the mutation is
 *   killed when at least one of them fails.
 * - ids: R = the security review's list (item 10) and its weak tests, S = more security-relevant
 *   lines, F = a fix of the review's items 1-9 undone, K = API keys.
 *
 * When a change moves one of these lines, update its `find`; when it adds a security-relevant
 * line, add a mutation here and a test that kills it.
 */

/** @typedef {{ file: string, test: string }} Killer */
/** @typedef {{ id: string, file: string, what: string, replace: [string, string][], killers: Killer[], project?: string }} Mutation */

/** @type {Mutation[]} */
export const MUTATIONS = [
  // Survivors named by the review (item 10).
  {
    id: "R1",
    file: "src/sessions/service.ts",
    what: "logout-all writes no per-user cutoff",
    replace: [["      await revocation.cutOffUser(userId);\n", ""]],
    killers: [
      { file: "test/revocation.test.ts", test: "10 families, one KV write, every access token refused" },
      { file: "test/sessions.test.ts", test: "every family revoked, every live access token refused" },
    ],
  },
  {
    id: "R2",
    file: "src/revocation/index.ts",
    what: "token checks ignore the per-user cutoff",
    replace: [["return jtiRevoked || familyRevoked || cutOff;", "return jtiRevoked || familyRevoked;"]],
    killers: [
      { file: "test/revocation.test.ts", test: "10 families, one KV write, every access token refused" },
      { file: "test/revocation.test.ts", test: "a token issued in the cutoff's own second is refused" },
    ],
  },
  {
    id: "R3",
    file: "src/tokens/jwt.ts",
    what: "no future-iat check (only the lifetime check is left)",
    replace: [["if (iat > nowSeconds + CLOCK_TOLERANCE_SECONDS || exp >", "if (exp >"]],
    killers: [
      { file: "test/adversarial.test.ts", test: "iat in the future within an allowed lifetime" },
      { file: "test/revocation.test.ts", test: "a token issued in the future does not outlive a cutoff" },
    ],
  },
  {
    id: "R4",
    file: "src/middleware/origin-guard/index.ts",
    what: "own origin by prefix of the request URL (Origin: https: passes)",
    replace: [["origin === originOf(requestUrl)", "requestUrl.startsWith(origin)"]],
    killers: [{ file: "test/adversarial-input.test.ts", test: "is not the service's own origin" }],
  },
  {
    id: "R5",
    file: "src/stores/kv/revocations.ts",
    what: "deny-list entries live 60 s (KV's minimum) whatever the token's life",
    replace: [["Math.max(KV_MIN_TTL_SECONDS, Math.ceil(seconds))", "KV_MIN_TTL_SECONDS"]],
    killers: [{ file: "test/revocation.test.ts", test: "KV entries live as long as the tokens they refuse" }],
  },
  {
    id: "R6",
    file: "src/accounts/service.ts",
    what: "/auth/password ignores the failed-login lock",
    replace: [["await lockout.admit(user.email, client.ip);\n      if (!admitted) throw rateLimited();", "await lockout.admit(user.email, client.ip);"]],
    killers: [
      { file: "test/account.test.ts", test: "wrong current passwords count against the login lockout" },
      { file: "test/account.test.ts", test: "a pair locked by failed logins cannot change the password" },
    ],
  },
  // Lines behind the weak tests the review named (item 10), and more of the review's 20.
  {
    id: "R7",
    file: "src/passwords/index.ts",
    what: "one PBKDF2 call of 600,000 iterations (above the production cap)",
    replace: [
      ["PBKDF2_MAX_ITERATIONS_PER_CALL = 100_000;", "PBKDF2_MAX_ITERATIONS_PER_CALL = 1_000_000;"],
      ["{ iterations: 100_000, rounds: 6 }", "{ iterations: 600_000, rounds: 1 }"],
    ],
    killers: [
      { file: "src/passwords/index.test.ts", test: "no call above the production cap" },
      { file: "src/passwords/index.test.ts", test: "register and login work end to end under the production cap" },
    ],
  },
  {
    id: "R8",
    file: "src/sessions/service.ts",
    what: "reuse is refused but does not revoke the family",
    replace: [['    await revoke(familyId, family.userId, "reuse_detected",', '    if (Math.random() > 2) await revoke(familyId, family.userId, "reuse_detected",']],
    killers: [
      { file: "test/refresh-reuse.test.ts", test: "other sessions of the same user are untouched by a reuse" },
      { file: "test/refresh-reuse.test.ts", test: "revokes the family and every access token it issued" },
    ],
  },
  {
    id: "R9",
    file: "src/stores/d1/families.ts",
    what: "a repeated logout records another logout event",
    replace: [["insertEventIf(event, now, revokedByThisBatch)", "insertEventIf(event, now, sql`1`)"]],
    killers: [{ file: "test/sessions.test.ts", test: "is idempotent: logging out again" }],
  },
  {
    id: "R10",
    file: "src/stores/d1/families.ts",
    what: "logout-all revokes every user's families in the database",
    replace: [[": and(eq(sessions.userId, scope.userId), scope.exceptFamilyId", ": and(sql`1 = 1`, scope.exceptFamilyId"]],
    killers: [{ file: "test/sessions.test.ts", test: "leaves other users alone" }],
  },
  {
    id: "R11",
    file: "src/accounts/service.ts",
    what: "a login with an unknown email records no login_failed event",
    replace: [['        await events.record({ type: "login_failed", userId: user?.id', '        if (user) await events.record({ type: "login_failed", userId: user?.id']],
    killers: [{ file: "test/accounts.test.ts", test: "answers wrong password and unknown email identically" }],
  },
  {
    id: "R12",
    file: "src/sessions/service.ts",
    what: "a refresh token with a bad tag reaches D1",
    replace: [["        if (!(await isAuthentic(keys, presented))) throw invalidGrant();\n", ""]],
    killers: [{ file: "test/families.test.ts", test: "random secrets and tags for past, current and future generations" }],
  },
  {
    id: "R13",
    file: "src/stores/d1/families.ts",
    what: "a rotation does not compare the presented token's hash",
    replace: [['          eq(sessions.tokenHash, sql.placeholder("presentedHash")),\n', ""]],
    killers: [{ file: "test/families.test.ts", test: "authentic tokens that were never issued" }],
  },
  {
    id: "R14",
    file: "src/sessions/service.ts",
    what: "the grace window never ends (the parent is never reuse)",
    replace: [["config.refreshGraceMs > 0 && at - family.rotatedAt < config.refreshGraceMs) {", "config.refreshGraceMs > 0) {"]],
    killers: [{ file: "test/refresh-reuse.test.ts", test: "replaying the parent after the grace window revokes the family" }],
  },
  {
    id: "R15",
    file: "src/sessions/service.ts",
    what: "a revocation writes D1 before KV",
    replace: [
      [
        "    await revocation.revokeFamily(familyId);\n    await families.revoke({ familyId, userId }, reason, event, now());",
        "    await families.revoke({ familyId, userId }, reason, event, now());\n    await revocation.revokeFamily(familyId);",
      ],
    ],
    killers: [{ file: "test/faults-kv.test.ts", test: "the family intact, and the retry completes it" }],
  },
  {
    id: "R16",
    file: "src/sessions/service.ts",
    what: "DELETE /auth/sessions/:id ends another user's session",
    replace: [["if (family?.userId !== userId) throw notFound", "if (!family) throw notFound"]],
    killers: [{ file: "test/sessions.test.ts", test: "404 for another user's session" }],
  },
  {
    id: "R17",
    file: "src/sessions/service.ts",
    what: "introspection trusts KV alone (no D1 liveness)",
    replace: [["      if (!family || family.userId !== claims.sub || !isLive(family, livenessBounds(config, now()))) return undefined;\n", ""]],
    killers: [{ file: "test/introspection.test.ts", test: "sees a logout at once" }],
  },
  {
    id: "R18",
    file: "src/routes/admin.ts",
    what: "any admin token is accepted",
    replace: [["return crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected));", "return presented.length > 0;"]],
    killers: [{ file: "test/account.test.ts", test: "admin endpoints need the admin token" }],
  },
  {
    id: "R19",
    file: "src/middleware/origin-guard/index.ts",
    what: "cookie requests need not be JSON (a cross-site form post passes)",
    replace: [["if (options.requireJson && !/", "if (false && !/"]],
    killers: [{ file: "test/refresh-refusals.test.ts", test: "refresh with a form post" }],
  },
  {
    id: "R20",
    file: "src/accounts/service.ts",
    what: "a password change cuts off the caller's own session too",
    replace: [["await revocation.cutOffUser(user.id, input.familyId);", "await revocation.cutOffUser(user.id);"]],
    killers: [{ file: "test/account.test.ts", test: "the caller's session goes on" }],
  },
  {
    id: "R21",
    file: "src/revocation/index.ts",
    what: "a cutoff leaves out the current second",
    replace: [["beforeSeconds: Math.floor(now() / 1000) + 1,", "beforeSeconds: Math.floor(now() / 1000),"]],
    killers: [
      { file: "src/revocation/index.test.ts", test: "a per-user cutoff refuses every token issued up to this second" },
      { file: "test/revocation.test.ts", test: "a token issued in the cutoff's own second is refused" },
    ],
  },
  {
    id: "R22",
    file: "src/tokens/jwt.ts",
    what: "access tokens' typ is not checked",
    replace: [["      typ: ACCESS_TOKEN_TYPE,\n", ""]],
    killers: [{ file: "test/forged-tokens.test.ts", test: "refuses every forged token of the shared list" }],
  },
  {
    id: "R23",
    file: "src/middleware/refresh-cookie.ts",
    what: "the refresh cookie is readable by scripts (no HttpOnly)",
    replace: [["    httpOnly: true,\n", "    httpOnly: false,\n"]],
    killers: [{ file: "test/accounts.test.ts", test: "creates the account, returns the token response and sets the refresh cookie" }],
  },
  {
    id: "R24",
    file: "src/middleware/refresh-cookie.ts",
    what: "two refresh cookies: one of them is used",
    replace: [["if (refreshCookieCount(c) > 1) throw", "if (refreshCookieCount(c) > 2) throw"]],
    killers: [{ file: "test/adversarial-input.test.ts", test: "refresh and logout answer 400 and change nothing" }],
  },
  {
    id: "R25",
    file: "src/accounts/service.ts",
    what: "an unknown email costs no password hash (timing reveals accounts)",
    replace: [["(await passwords.verifyDummy(input.password), undefined)", "undefined"]],
    killers: [{ file: "test/adversarial-input.test.ts", test: "same cost: both pay one full password hash" }],
  },
  {
    id: "R26",
    file: "src/accounts/lockout.ts",
    what: "failed logins never lock the email + network pair",
    replace: [["if (await failuresPerEmailAndNetwork.allows(pairKey)) return false;", "if (await failuresPerEmailAndNetwork.allows(pairKey) || true) return false;"]],
    killers: [{ file: "test/account.test.ts", test: "failed logins per email+IP lock that pair" }],
  },

  // More security-relevant lines the suite guards (beyond the review's list).
  {
    id: "S1",
    file: "src/stores/d1/families.ts",
    what: "a rotation does not require a live family (expired, idle or revoked families rotate)",
    replace: [["          liveFamily,\n        ),\n      )\n      .returning", "        ),\n      )\n      .returning"]],
    killers: [
      { file: "test/refresh-refusals.test.ts", test: "a session past its absolute lifetime" },
      { file: "test/refresh-refusals.test.ts", test: "an idle-timed-out session" },
    ],
  },
  {
    id: "S2",
    file: "src/tokens/jwt.ts",
    what: "an hour of clock leeway instead of 60 s",
    replace: [["      clockTolerance: CLOCK_TOLERANCE_SECONDS,", "      clockTolerance: 3600,"]],
    killers: [{ file: "test/forged-tokens.test.ts", test: "refuses every forged token of the shared list" }],
  },
  {
    id: "S3",
    file: "src/tokens/index.ts",
    what: "Bearer authentication skips the KV revocation check",
    replace: [["if (await revocation.isRevoked(claims)) throw", "if (false) throw"]],
    killers: [{ file: "test/sessions.test.ts", test: "the family's access tokens refused" }],
  },
  {
    id: "S4",
    file: "src/middleware/origin-guard/index.ts",
    what: "credentialed CORS for any origin",
    replace: [['(isAllowedOrigin(origin, c.req.url, c.get("services").config.allowedOrigins) ? origin : null)', "origin"]],
    killers: [
      { file: "test/refresh-refusals.test.ts", test: "CORS: credentialed preflight only for allowed origins" },
      { file: "test/adversarial-input.test.ts", test: "is not the service's own origin" },
    ],
  },
  {
    id: "S5",
    file: "src/accounts/lockout.ts",
    what: "brute-force limits key the email as typed (case and spaces make new buckets)",
    replace: [["const normalized = email.trim().toLowerCase();", "const normalized = email;"]],
    killers: [
      { file: "test/account.test.ts", test: "login attempts per email, from any network" },
      { file: "test/brute-force.test.ts", test: "a distributed guess" },
    ],
  },
  {
    id: "S6",
    file: "src/sessions/service.ts",
    what: "no per-family limit on retries and replays",
    replace: [["    if (!(await deps.familyLimiter.allows(familyId))) throw rateLimited();\n", ""]],
    killers: [{ file: "test/refresh-reuse.test.ts", test: "rate limited per family" }],
  },
  {
    id: "S7",
    file: "src/stores/d1/families.ts",
    what: "a rotation ignores the client the family is bound to",
    replace: [['          sql`(${sql.placeholder("clientId")} is null or ${sessions.clientId} = ${sql.placeholder("clientId")})`,\n', ""]],
    killers: [
      { file: "test/clients.test.ts", test: "a family refreshed under another client's id is invalid_grant" },
      { file: "test/oauth.test.ts", test: "a refresh token is bound to its client" },
    ],
  },
  {
    id: "S8",
    file: "src/stores/d1/users.ts",
    what: "a password change leaves the other families live in D1 (only the cutoff refuses their access tokens)",
    replace: [['        revokeFamiliesStatement(db, { userId, exceptFamilyId: keepFamilyId }, "password_changed", now),\n', ""]],
    killers: [{ file: "test/account.test.ts", test: "changes the password, revokes every other family" }],
  },
  {
    id: "S9",
    file: "src/stores/d1/users.ts",
    what: "a disable leaves the user's families live (they come back on enable)",
    replace: [['        ...(disabled ? [d1Statement(db, revokeFamiliesStatement(db, { userId }, "user_disabled", now))] : []),\n', ""]],
    killers: [{ file: "test/account.test.ts", test: "enabling lets them log in again" }],
  },
  {
    id: "S10",
    file: "src/app.ts",
    what: "1 MB bodies accepted (hashing and parsing before any limit)",
    replace: [["const MAX_BODY_BYTES = 8 * 1024;", "const MAX_BODY_BYTES = 1024 * 1024;"]],
    killers: [
      { file: "test/accounts.test.ts", test: "413 for an oversized body" },
      { file: "test/adversarial-input.test.ts", test: "is refused with 413 before anything is stored" },
    ],
  },
  {
    id: "S11",
    file: "src/sessions/service.ts",
    what: "introspection skips the KV revocation check (an access token revoked alone stays active)",
    replace: [["if (!claims || (await revocation.isRevoked(claims))) return undefined;", "if (!claims) return undefined;"]],
    killers: [{ file: "test/introspection.test.ts", test: "answers only {active: false}" }],
  },
  {
    id: "S12",
    file: "src/sessions/refresh-token.ts",
    what: "a child no longer depends on its parent token (the grace retry would hand the child to any token of that generation)",
    replace: [["macOf(key, `child\\u0000${nonce}\\u0000${parentToken}`)", "macOf(key, `child\\u0000${nonce}\\u0000${familyId}.${generation}`)"]],
    killers: [{ file: "src/sessions/refresh-token.test.ts", test: "a child is derived from its parent and the rotation's nonce" }],
  },
  {
    id: "S13",
    file: "src/sessions/refresh-token.ts",
    what: "a child no longer depends on the rotation's nonce (the key and an older token would lead to the live one)",
    replace: [["`child\\u0000${nonce}\\u0000${parentToken}`", "`child\\u0000${parentToken}`"]],
    killers: [{ file: "src/sessions/service.test.ts", test: "the key and an older token (and the row) are not enough" }],
  },

  // The review's fixes 1-9, each undone.
  {
    id: "F1",
    file: "src/stores/d1/users.ts",
    what: "item 1: a login writes its family whatever the user row says now",
    replace: [["        where ${credentialsHold}`),", "        where ${credentialsHold} or 1 = 1`),"]],
    killers: [{ file: "test/login-race.test.ts", test: "that commits between the check and the write" }],
  },
  {
    id: "F2a",
    file: "src/client-info.ts",
    what: "item 2: IPv6 keyed by the full address, not the /64",
    replace: [['return groups ? `${groups.slice(0, 4).join(":")}::/64` : ip.toLowerCase();', "return ip.toLowerCase();"]],
    killers: [
      { file: "test/account.test.ts", test: "IPv6 clients are counted by their /64" },
      { file: "test/brute-force.test.ts", test: "rotating addresses inside one IPv6 /64" },
    ],
  },
  {
    id: "F2b",
    file: "src/accounts/lockout.ts",
    what: "item 2: no per-email limit across networks",
    replace: [["return { admitted: await attemptsPerEmail.allows(emailKey), pairKey };", "return { admitted: true, pairKey };"]],
    killers: [
      { file: "test/account.test.ts", test: "login attempts per email, from any network" },
      { file: "test/brute-force.test.ts", test: "a distributed guess" },
    ],
  },
  {
    id: "F2c",
    file: "src/accounts/service.ts",
    what: "item 2: the failure that crosses the limit is answered 401, not 429 (a concurrent burst all gets through)",
    replace: [["        if (await lockout.recordFailure(pairKey)) throw rateLimited();\n        throw invalidCredentials();", "        await lockout.recordFailure(pairKey);\n        throw invalidCredentials();"]],
    killers: [
      { file: "test/brute-force.test.ts", test: "a concurrent burst from one IP" },
      { file: "test/account.test.ts", test: "failed logins per email+IP lock that pair" },
    ],
  },
  {
    id: "F3",
    file: "src/middleware/bearer/index.ts",
    what: "item 3: no D1 liveness check on security endpoints",
    replace: [['  c.set("session", await c.get("services").sessions.requireLive(c.get("claims")));\n', ""]],
    killers: [{ file: "test/live-session.test.ts", test: "cannot change the password, log out everywhere" }],
  },
  {
    id: "F4",
    file: "src/accounts/service.ts",
    what: "item 4: common passwords accepted",
    replace: [["if (await commonPasswords.includes(commonPasswordForm(password))) throw", "if (false) throw"]],
    killers: [
      { file: "test/accounts.test.ts", test: "refuses a common password with 400 naming the field" },
      { file: "test/account.test.ts", test: "a short or common new one" },
    ],
  },
  {
    id: "F5",
    file: "client/src/origins.ts",
    project: "node",
    what: "item 5: the browser client sends the token to any URL that starts with a trusted origin",
    replace: [["if (!this.#trusted.has(url.origin))", "if (![...this.#trusted].some((origin) => url.href.startsWith(origin)))"]],
    killers: [{ file: "client/test/origins.test.ts", test: "refused, before any request: a lookalike suffix" }],
  },
  {
    id: "F6",
    file: "src/accounts/service.ts",
    what: "item 6: admin enable recorded without the admin's IP and user agent",
    replace: [['adminEvent("user_enabled", userId, actor)', 'adminEvent("user_enabled", userId, { ...actor, ip: null, userAgent: null })']],
    killers: [{ file: "test/account.test.ts", test: "enabling lets them log in again" }],
  },
  {
    id: "F7",
    file: "src/errors.ts",
    what: "item 7: the error log carries the storage error's message (SQL parameters)",
    replace: [['      request_id: c.req.header("CF-Ray") ?? undefined,', '      message: err.cause instanceof Error ? err.cause.message : undefined,\n      request_id: c.req.header("CF-Ray") ?? undefined,']],
    killers: [{ file: "test/error-log.test.ts", test: "a failed query is logged without its SQL or parameters" }],
  },
  {
    id: "F8",
    file: "src/middleware/origin-guard/index.ts",
    what: "item 8: own origin by prefix of the Origin (a path or a longer host passes)",
    replace: [["origin === originOf(requestUrl)", "origin.startsWith(originOf(requestUrl))"]],
    killers: [
      { file: "test/adversarial-input.test.ts", test: "is not the service's own origin" },
      { file: "test/refresh-refusals.test.ts", test: "an Origin that starts like the worker's own" },
    ],
  },
  {
    id: "F9a",
    file: "src/middleware/no-store/index.ts",
    what: "item 9: no-store on successful answers only",
    replace: [['  c.res.headers.set("Cache-Control", "no-store");', '  if (c.res.ok) c.res.headers.set("Cache-Control", "no-store");']],
    killers: [{ file: "test/no-store.test.ts", test: "no-store" }],
  },
  {
    id: "F9b",
    file: "src/app.ts",
    what: "item 9: no no-store on the OAuth endpoints",
    replace: [["  app.use(api, noStore);", '  if (api !== "/oauth/*") app.use(api, noStore);']],
    killers: [{ file: "test/no-store.test.ts", test: "no-store" }],
  },

  // API keys (README.md, "API keys").
  {
    id: "K1",
    file: "src/api-keys/service.ts",
    what: "an exchange does not compare the key with the stored hash (any secret passes for a known id)",
    replace: [["if (!key || !sameHash(secretHash, key.secretHash) || !isUsable(key, at)) throw invalidClient();", "if (!key || !isUsable(key, at)) throw invalidClient();"]],
    killers: [
      { file: "test/api-keys-exchange.test.ts", test: "answers RFC 6749 5.2 errors" },
      { file: "src/api-keys/service.test.ts", test: "refuses a wrong secret, an unknown id and a revoked key alike" },
    ],
  },
  {
    id: "K2",
    file: "src/api-keys/usable.ts",
    what: "a revoked key is still usable",
    replace: [["  if (key.revokedAt !== null) return false;\n", ""]],
    killers: [
      { file: "test/api-keys.test.ts", test: "DELETE /auth/api-keys/:id revokes that key at once" },
      { file: "src/stores/d1/api-keys.test.ts", test: "the same way in SQL and in TypeScript" },
    ],
  },
  {
    id: "K3",
    file: "src/api-keys/usable.ts",
    what: "an expired key is still usable",
    replace: [["  if (key.expiresAt !== null && key.expiresAt <= now) return false;\n", ""]],
    killers: [
      { file: "src/api-keys/service.test.ts", test: "an expiring key works until its expiry and not at it" },
      { file: "test/api-keys-exchange.test.ts", test: "an expired key is invalid_client at once" },
    ],
  },
  {
    id: "K4",
    file: "src/api-keys/usable.ts",
    what: "a disabled user's key is still usable",
    replace: [["return key.user !== null && key.user.disabledAt === null;", "return key.user !== null;"]],
    killers: [
      { file: "test/api-keys.test.ts", test: "a disabled user's keys are refused" },
      { file: "src/api-keys/service.test.ts", test: "refuses the key of a disabled user" },
    ],
  },
  {
    id: "K5",
    file: "src/api-keys/service.ts",
    what: "a key keeps the permissions its owner has lost since it was created",
    replace: [["    return key.scopes.filter((scope) => held.includes(scope));", "    return key.scopes;"]],
    killers: [
      { file: "src/api-keys/service.test.ts", test: "uses only what the owner still has" },
      { file: "test/api-keys-exchange.test.ts", test: "a key can never use more than its owner has now" },
    ],
  },
  {
    id: "K6",
    file: "src/api-keys/service.ts",
    what: "a key may be created with permissions its owner does not have",
    replace: [['if (beyond.length > 0) throw invalidRequest("scopes"', 'if (beyond.length < 0) throw invalidRequest("scopes"']],
    killers: [
      { file: "test/api-keys.test.ts", test: "scopes are a subset of the owner's permissions now" },
      { file: "src/api-keys/service.test.ts", test: "refuses scopes beyond the owner's permissions" },
    ],
  },
  {
    id: "K7",
    file: "src/tokens/index.ts",
    what: "a key's token carries its owner's roles (requireRole passes for a key)",
    replace: [["=> ({ roles: [], ...(scopes.length > 0", '=> ({ roles: ["user"], role: "user", ...(scopes.length > 0']],
    killers: [
      { file: "test/api-keys-exchange.test.ts", test: "the token: sub = the owner, client_id = sid = the key id" },
      { file: "src/api-keys/service.test.ts", test: "issues a token for the owner with the key as client and session" },
    ],
  },
  {
    id: "K8",
    file: "src/sessions/service.ts",
    what: "a key's token is not refused by requireLive itself (only because no family has its id)",
    replace: [['      if (isApiKeyToken(claims)) throw invalidToken("An API key\'s token cannot use this endpoint: it needs a user\'s session.");\n', ""]],
    killers: [{ file: "test/api-keys.test.ts", test: "only a user's live session: a key's own token is 401" }],
  },
  {
    id: "K9",
    file: "src/sessions/service.ts",
    what: "introspection trusts a key's token without checking the key in D1",
    replace: [["if (isApiKeyToken(claims)) return (await deps.apiKeyTokens.isTokenActive(claims)) ? claims : undefined;", "if (isApiKeyToken(claims)) return claims;"]],
    killers: [
      { file: "test/api-keys-exchange.test.ts", test: "active while the key is usable; inactive at once" },
      { file: "test/service-accounts.test.ts", test: "lists, revokes one" },
    ],
  },
  {
    id: "K10",
    file: "src/api-keys/service.ts",
    what: "revoking a key writes no KV entry (its access tokens stay valid)",
    replace: [["    await Promise.all(mayHaveTokens.map((key) => revocation.revokeFamily(key.id)));\n", ""]],
    killers: [
      { file: "test/api-keys.test.ts", test: "DELETE /auth/api-keys/:id revokes that key at once" },
      { file: "src/api-keys/service.test.ts", test: "one KV entry for the key" },
    ],
  },
  {
    id: "K11",
    file: "src/api-keys/service.ts",
    what: "revoking a key writes D1 before KV",
    replace: [
      [
        "    await Promise.all(mayHaveTokens.map((key) => revocation.revokeFamily(key.id)));\n    return keys.revoke({ owner, ids: revoked.map((key) => key.id), now: at, event: eventOf(\"api_key_revoked\", owner, actor) });",
        "    const ids = await keys.revoke({ owner, ids: revoked.map((key) => key.id), now: at, event: eventOf(\"api_key_revoked\", owner, actor) });\n    await Promise.all(mayHaveTokens.map((key) => revocation.revokeFamily(key.id)));\n    return ids;",
      ],
    ],
    killers: [{ file: "test/api-keys-exchange.test.ts", test: "a KV failure while revoking answers 503" }],
  },
  {
    id: "K12",
    file: "src/api-keys/service.ts",
    what: "every exchange runs the last-used UPDATE (a busy key writes D1 on every request)",
    replace: [["      if (key.lastUsedAt === null || key.lastUsedAt < usedBefore) background(", "      background("]],
    killers: [{ file: "test/api-keys-exchange.test.ts", test: "last_used_at moves at most once an hour" }],
  },
  {
    id: "K13",
    file: "src/api-keys/service.ts",
    what: "the exchange waits for the last-used write (a D1 write failure refuses a valid key)",
    replace: [["background(touch({ id: key.id, secretHash, now: at, usedBefore }));", "await keys.touch({ id: key.id, secretHash, now: at, usedBefore });"]],
    killers: [{ file: "test/api-keys-exchange.test.ts", test: "a D1 write failure costs the last-used time, never the exchange" }],
  },
  {
    id: "K14",
    file: "src/api-keys/service.ts",
    what: "no per-key limit on exchanges",
    replace: [["      if (!(await deps.limiter.allows(clientId))) throw rateLimited();\n", ""]],
    killers: [
      { file: "test/api-keys-exchange.test.ts", test: "is rate limited per key" },
      { file: "src/api-keys/service.test.ts", test: "is rate limited per key" },
    ],
  },
  {
    id: "K15",
    file: "src/stores/d1/api-keys.ts",
    what: "no limit on the keys of one owner",
    replace: [["usableKeyAt(now))}) < ${maxLive}`", "usableKeyAt(now))}) < ${maxLive * 100}`"]],
    killers: [{ file: "test/api-keys.test.ts", test: "at most 20 usable keys per user" }],
  },
  {
    id: "K16",
    file: "src/api-keys/service.ts",
    what: "DELETE of another owner's key is answered 204 and writes its KV entry (its tokens refused)",
    replace: [["if (!key || subjectOfOwner(ownerOfKey(key)) !== subjectOfOwner(owner)) throw notFound", "if (!key) throw notFound"]],
    killers: [
      { file: "src/api-keys/service.test.ts", test: "another owner's key is not_found and stays usable" },
      { file: "test/api-keys.test.ts", test: "DELETE /auth/api-keys/:id revokes that key at once" },
    ],
  },
  {
    id: "K17",
    file: "src/api-keys/key.ts",
    what: "keys of 128 random bits instead of 256",
    replace: [
      ["const SECRET_BYTES = 32;", "const SECRET_BYTES = 16;"],
      ["/^etsk_[A-Za-z0-9_-]{43}$/", "/^etsk_[A-Za-z0-9_-]{22}$/"],
    ],
    killers: [{ file: "test/api-keys.test.ts", test: "answers the key once (etsk_ and 256 bits)" }],
  },
  {
    id: "K18",
    file: "src/api-keys/service.ts",
    what: "introspection of a key's token ignores a `sub` that is not the key's owner",
    replace: [["      if (subjectOfOwner(ownerOfKey(key)) !== claims.sub || claims.roles.length > 0) return false;\n", ""]],
    killers: [{ file: "src/api-keys/service.test.ts", test: "has no session: requireLive refuses it; introspection checks the key" }],
  },
  {
    id: "K19",
    file: "src/api-keys/service.ts",
    what: "revoking all skips the KV entry of a key that expired while its last token still lives",
    replace: [["key.expiresAt === null || key.expiresAt > tokensEndedBefore", "key.expiresAt === null || key.expiresAt > at"]],
    killers: [{ file: "src/api-keys/service.test.ts", test: "a key that just expired still gets its KV entry" }],
  },
];
