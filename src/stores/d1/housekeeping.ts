/** Deletion of what can never be used again (ended families and API keys, expired tokens and links, old events), in every database (the Cron Trigger's job). */
import { and, isNotNull, lt, or, sql } from "drizzle-orm";
import type { HousekeepingStore } from "../types";
import { guardStorage } from "../guard";
import type { Databases } from "./databases";
import { apiKeys, authEvents, emailTokens, legacyRefreshTokens, sessions } from "./schema";

export class D1HousekeepingStore implements HousekeepingStore {
  constructor(private readonly databases: Databases) {}

  async deleteEnded({ now, endedBefore, idleBefore, eventsBefore }: { now: number; endedBefore: number; idleBefore: number; eventsBefore: number }) {
    const ended = or(
      and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, endedBefore)),
      lt(sessions.expiresAt, endedBefore),
      lt(sessions.rotatedAt, idleBefore),
    );
    const keyEnded = or(and(isNotNull(apiKeys.revokedAt), lt(apiKeys.revokedAt, endedBefore)), and(isNotNull(apiKeys.expiresAt), lt(apiKeys.expiresAt, endedBefore)));
    const total = { families: 0, legacyTokens: 0, events: 0, linkTokens: 0, apiKeys: 0 };
    for (const db of this.databases.all) {
      const [legacyTokens, families, events, linkTokens, keys] = await guardStorage(() =>
        db.batch([
          db
            .delete(legacyRefreshTokens)
            .where(or(lt(legacyRefreshTokens.expiresAt, now), sql`${legacyRefreshTokens.sessionId} in (select ${sessions.id} from ${sessions} where ${ended})`))
            .returning({ id: legacyRefreshTokens.id }),
          db.delete(sessions).where(ended).returning({ id: sessions.id }),
          db.delete(authEvents).where(lt(authEvents.createdAt, eventsBefore)).returning({ id: authEvents.id }),
          db.delete(emailTokens).where(lt(emailTokens.expiresAt, now)).returning({ hash: emailTokens.tokenHash }),
          db.delete(apiKeys).where(keyEnded).returning({ id: apiKeys.id }),
        ]),
      );
      total.families += families.length;
      total.legacyTokens += legacyTokens.length;
      total.events += events.length;
      total.linkTokens += linkTokens.length;
      total.apiKeys += keys.length;
    }
    return total;
  }
}
