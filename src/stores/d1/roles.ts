/** The roles of users in D1 (`user_roles`), and the subquery that reads them with a user or a family. */
import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { RoleGrant, RoleStore, SecurityEvent } from "../types";
import { guardStorage } from "../guard";
import { d1Statement, qualified, type Databases } from "./databases";
import { insertEventIf, logEvent } from "./events";
import { userRoles, users } from "./schema";

/**
 * The roles of the user that `userId` (a column of the outer query) names, as one JSON array: a
 * subquery that lets a statement (the rotation's RETURNING, a user lookup) read them in the same query.
 */
export function rolesOfUser(userId: SQLiteColumn): SQL<string[]> {
  return sql`(select json_group_array("r"."role") from ${userRoles} as "r" where "r"."user_id" = ${qualified(userId)})`.mapWith((json: string) => JSON.parse(json) as string[]);
}

export class D1RoleStore implements RoleStore {
  constructor(private readonly databases: Databases) {}

  async list(userId: string): Promise<RoleGrant[] | undefined> {
    const rows = await guardStorage(() =>
      this.databases
        .forKey(userId)
        .select({ role: userRoles.role, grantedAt: userRoles.grantedAt, grantedBy: userRoles.grantedBy })
        .from(users)
        .leftJoin(userRoles, eq(userRoles.userId, users.id))
        .where(eq(users.id, userId))
        .orderBy(asc(userRoles.grantedAt), asc(userRoles.role))
        .all(),
    );
    if (rows.length === 0) return undefined;
    return rows.flatMap((row) => (row.role === null ? [] : [{ role: row.role, grantedAt: row.grantedAt!, grantedBy: row.grantedBy }]));
  }

  async grant({ userId, grant, maxRoles, event }: { userId: string; grant: RoleGrant; maxRoles: number; event: SecurityEvent }): Promise<boolean> {
    const db = this.databases.forKey(userId);
    const now = grant.grantedAt;
    const granted = sql`exists (select 1 from ${userRoles} where ${and(eq(userRoles.userId, userId), eq(userRoles.role, grant.role), eq(userRoles.grantedAt, now))})`;
    const [inserted] = await guardStorage(() =>
      db.$client.batch([
        d1Statement(db, sql`insert into ${userRoles} (user_id, role, granted_at, granted_by)
          select ${userId}, ${grant.role}, ${now}, ${grant.grantedBy}
          where exists (select 1 from ${users} where ${users.id} = ${userId})
            and (select count(*) from ${userRoles} where ${userRoles.userId} = ${userId}) < ${maxRoles}
          on conflict do nothing`),
        d1Statement(db, insertEventIf(event, now, granted)),
      ]),
    );
    if (inserted?.meta.changes !== 1) return false;
    logEvent(event, now);
    return true;
  }

  async revoke({ userId, role, event, now }: { userId: string; role: string; event: SecurityEvent; now: number }): Promise<boolean> {
    const db = this.databases.forKey(userId);
    const held = sql`exists (select 1 from ${userRoles} where ${and(eq(userRoles.userId, userId), eq(userRoles.role, role))})`;
    // The event first, while the row still exists: it is written only if this batch takes the role away.
    const [, deleted] = await guardStorage(() =>
      db.$client.batch([
        d1Statement(db, insertEventIf(event, now, held)),
        d1Statement(db, db.delete(userRoles).where(and(eq(userRoles.userId, userId), eq(userRoles.role, role)))),
      ]),
    );
    if (deleted?.meta.changes !== 1) return false;
    logEvent(event, now);
    return true;
  }
}
