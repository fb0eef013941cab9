/**
 * The rotation statement's execution time inside D1, without the call around it: the service's own
 * last two rotation statements (same SQL) tell which bound values are the generation, the presented
 * hash and the child hash (the first one's child is the second one's presented token); `count`
 * further rotations of the same family are then sent in ONE batch, each presenting the previous
 * one's child. Worker wall time of the batch / count = D1's time per statement, with the round trip
 * and the commit spread over all of them (a lower bound of a lone rotation's cost).
 */
import type { Sent } from "./d1-meter";

const randomLike = (sample: string) => {
  let text = "";
  while (text.length < sample.length) text += crypto.randomUUID().replaceAll("-", "");
  return text.slice(0, sample.length);
};

/** Positions of the chained values in the rotation's bound parameters, or a reason why not found. */
function chainPositions(previous: Sent, last: Sent) {
  if (previous.sql !== last.sql) return "the last two statements differ";
  // The presented hash was the previous statement's child, at another position (the family id stays put).
  const movedFrom = (value: unknown, i: number) => (typeof value === "string" ? previous.params.findIndex((p, j) => j !== i && p === value) : -1);
  const presented = last.params.findIndex((value, i) => movedFrom(value, i) >= 0);
  const child = presented < 0 ? -1 : movedFrom(last.params[presented], presented);
  const generation = last.params.findIndex((value, i) => typeof value === "number" && value < 1e9 && value === (previous.params[i] as number) + 1);
  if (presented < 0 || child < 0 || generation < 0) return "no chained generation and hashes in the bound values";
  return { presented, child, generation };
}

export async function replayRotations(d1: D1Database, statements: readonly Sent[], count: number) {
  const [previous, last] = statements.slice(-2);
  if (!previous || !last) return { error: "fewer than two rotation statements were seen" };
  const positions = chainPositions(previous, last);
  if (typeof positions === "string") return { error: positions };
  const prepared = d1.prepare(last.sql);
  let generation = (last.params[positions.generation] as number) + 1;
  let presented = last.params[positions.child] as string;
  const batch = Array.from({ length: count }, () => {
    const params = [...last.params];
    const child = randomLike(presented);
    params[positions.generation] = generation++;
    params[positions.presented] = presented;
    params[positions.child] = child;
    presented = child;
    return prepared.bind(...params);
  });
  const started = Date.now();
  const results = await d1.batch(batch);
  const wallMs = Date.now() - started;
  const rotated = results.filter((r) => r.meta.changes === 1).length;
  if (rotated !== count) return { error: `${rotated} of ${count} replayed rotations changed their row` };
  return {
    count,
    wallMs,
    msPerStatement: wallMs / count,
    rowsWrittenPerStatement: results.reduce((a, r) => a + r.meta.rows_written, 0) / count,
  };
}
