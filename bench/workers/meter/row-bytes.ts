/**
 * Bytes per row at scale, for the capacity estimate: `copies` copies of rows the service itself
 * wrote (a user, one of its families, its latest login event), each with fresh random values in its
 * key and unique columns (same lengths) and owned by a fresh copied user, inserted into the database
 * that holds them. The growth of the database file (D1's `meta.size_after`) divided by `copies` is
 * what one more such row costs, its index entries and B-tree page overhead included: random keys
 * fill index pages the way real traffic does. Run last: it leaves the copies behind.
 */

interface Column {
  name: string;
  type: string;
  pk: number;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function rowsOf<T>(d1: D1Database, sql: string): Promise<T[]> {
  return (await d1.prepare(sql).all<T>()).results;
}

/** Columns of `table`, and those that a copy must not repeat (primary key, or in a UNIQUE index). */
async function shapeOf(d1: D1Database, table: string) {
  const columns = await rowsOf<Column>(d1, `PRAGMA table_info(${quote(table)})`);
  const unique = new Set(columns.filter((c) => c.pk > 0).map((c) => c.name));
  for (const index of await rowsOf<{ name: string; unique: number }>(d1, `PRAGMA index_list(${quote(table)})`)) {
    if (!index.unique) continue;
    for (const column of await rowsOf<{ name: string }>(d1, `PRAGMA index_info(${quote(index.name)})`)) unique.add(column.name);
  }
  return { columns, unique };
}

/**
 * Inserts `copies` copies of the row `template.id = ?2` of `table`: unique text columns random (same
 * length), an INTEGER primary key left to SQLite, `ownerColumn` taken from the copied users
 * (`rowid > ?3`). Returns the database size after the insert.
 */
async function insertCopies(d1: D1Database, table: string, copies: number, templateId: string | number, ownerColumn?: string, ownersAfterRowid = 0) {
  const { columns, unique } = await shapeOf(d1, table);
  const kept = columns.filter((c) => !(c.pk > 0 && c.type.toUpperCase() === "INTEGER"));
  const expression = (c: Column) => {
    const col = `t.${quote(c.name)}`;
    if (c.name === ownerColumn) return "owner.id";
    if (unique.has(c.name)) return `substr(lower(hex(randomblob(length(${col})))), 1, length(${col}))`;
    return col;
  };
  const owners = ownerColumn ? `(SELECT id FROM users WHERE rowid > ?3 ORDER BY rowid LIMIT ?1) AS owner, ` : "n, ";
  const sql = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
    INSERT INTO ${quote(table)} (${kept.map((c) => quote(c.name)).join(", ")})
    SELECT ${kept.map(expression).join(", ")} FROM ${owners}${quote(table)} AS t WHERE t."id" = ?2`;
  const statement = ownerColumn ? d1.prepare(sql).bind(copies, templateId, ownersAfterRowid) : d1.prepare(sql).bind(copies, templateId);
  const { meta } = await statement.run();
  if (meta.changes !== copies) throw new Error(`${table}: ${meta.changes} rows copied, ${copies} wanted`);
  return meta.size_after;
}

/** Bytes per users, sessions and auth_events row, measured in the database that holds `familyId`. */
export async function rowBytesAtScale(databases: readonly (readonly [string, D1Database])[], familyId: string, copies: number) {
  for (const [name, d1] of databases) {
    const family = await d1.prepare("SELECT user_id AS userId FROM sessions WHERE id = ?1").bind(familyId).first<{ userId: string }>();
    if (!family) continue;
    const event = await d1
      .prepare("SELECT id FROM auth_events WHERE user_id = ?1 AND type = 'login' ORDER BY id DESC LIMIT 1")
      .bind(family.userId)
      .first<{ id: number }>();
    if (!event) throw new Error(`no login event of user ${family.userId}`);
    const lastUser = await d1.prepare("SELECT max(rowid) AS rowid FROM users").first<{ rowid: number }>();
    const before = (await d1.prepare("SELECT 1").run()).meta.size_after;
    const afterUsers = await insertCopies(d1, "users", copies, family.userId);
    const afterFamilies = await insertCopies(d1, "sessions", copies, familyId, "user_id", lastUser!.rowid);
    const afterEvents = await insertCopies(d1, "auth_events", copies, event.id, "user_id", lastUser!.rowid);
    const perRow = (from: number, to: number) => ({ bytes: to - from, bytesPerRow: (to - from) / copies });
    return {
      database: name,
      copies,
      users: perRow(before, afterUsers),
      sessions: perRow(afterUsers, afterFamilies),
      auth_events: perRow(afterFamilies, afterEvents),
    };
  }
  throw new Error(`family ${familyId} is in no database`);
}
