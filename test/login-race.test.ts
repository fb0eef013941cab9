/**
 * A login whose password check overlaps a password change or a disable stores nothing (security
 * review, finding 1): the family, the event and the rehash are written in one batch, each only if
 * the user still has the verified hash and is not disabled. The change is injected in D1 right
 * before the login's batch, where the ~100 ms of hashing would let it land in production.
 */
import { describe, expect, it } from "vitest";
import { bindingOf, databaseOf } from "./databases";
import { callWith, PASSWORD, register } from "./helpers";

/** The user database with `interleave` run right before the next batch (the login's write). */
function withChangeBeforeNextBatch(db: D1Database, interleave: () => Promise<unknown>): D1Database {
  let pending: (() => Promise<unknown>) | undefined = interleave;
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const change = pending;
          pending = undefined;
          await change?.();
          return target.batch(statements);
        };
      }
      return Reflect.get(target, prop);
    },
  });
}

const count = (db: D1Database, sql: string, ...params: unknown[]) => db.prepare(sql).bind(...params).first<number>("n");

describe("a login racing a change of the account", () => {
  const cases = {
    "a password change": (db: D1Database, userId: string) => db.prepare("update users set password_hash = 'changed-concurrently' where id = ?").bind(userId).run(),
    "a disable": (db: D1Database, userId: string) => db.prepare("update users set disabled_at = ? where id = ?").bind(Date.now(), userId).run(),
  };
  for (const [name, change] of Object.entries(cases)) {
    it(`loses to ${name} that commits between the check and the write: 401, nothing written`, async () => {
      const user = await register();
      const db = databaseOf(user.userId);
      const before = {
        families: await count(db, "select count(*) as n from sessions where user_id = ?", user.userId),
        logins: await count(db, "select count(*) as n from auth_events where type = 'login' and user_id = ?", user.userId),
      };
      const racing = withChangeBeforeNextBatch(db, () => change(db, user.userId));
      const res = await callWith({ [bindingOf(user.userId)]: racing }, "/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: user.email, password: PASSWORD }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "invalid_credentials" });
      expect(await count(db, "select count(*) as n from sessions where user_id = ?", user.userId)).toBe(before.families);
      expect(await count(db, "select count(*) as n from auth_events where type = 'login' and user_id = ?", user.userId)).toBe(before.logins);
    });
  }
});
