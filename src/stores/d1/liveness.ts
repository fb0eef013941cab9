/**
 * The one SQL definition of a live family, used by the rotation, the session list and housekeeping
 * (negated). It mirrors `isLive` in src/sessions/liveness.ts, which computes the bounds it is
 * bound with; src/stores/d1/liveness.test.ts checks that the two agree.
 */
import { and, gt, isNull, sql, type SQL } from "drizzle-orm";
import { qualified } from "./databases";
import { sessions, users } from "./schema";

/** Bound with `{ now, lastUsedAfter }` (LivenessBounds) when the prepared query runs. */
export const liveFamily: SQL = and(
  isNull(sessions.revokedAt),
  gt(sessions.expiresAt, sql.placeholder("now")),
  gt(sessions.rotatedAt, sql.placeholder("lastUsedAfter")),
  sql`not exists (select 1 from ${users} as "u" where "u"."id" = ${qualified(sessions.userId)} and "u"."disabled_at" is not null)`,
)!;
