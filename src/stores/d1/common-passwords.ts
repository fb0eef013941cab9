/** The common-password list in D1 (`common_passwords`, filled by migration 0006). */
import { eq } from "drizzle-orm";
import type { CommonPasswordStore } from "../types";
import { guardStorage } from "../guard";
import type { Databases } from "./databases";
import { commonPasswords } from "./schema";

/**
 * Every user database holds the list (they share the migrations); lookups go to the first one, so
 * that entries an operator adds need to be added there only.
 */
export class D1CommonPasswordStore implements CommonPasswordStore {
  constructor(private readonly databases: Databases) {}

  async includes(password: string): Promise<boolean> {
    const row = await guardStorage(() =>
      this.databases.all[0]!.select({ password: commonPasswords.password }).from(commonPasswords).where(eq(commonPasswords.password, password)).get(),
    );
    return row !== undefined;
  }
}
