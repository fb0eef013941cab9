/** Who is calling, as the edge reports it, and the key rate limits count the caller under. */

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** The id the ADMIN_API_TOKEN secret acts under in audit events (there is no user behind it). */
export const ADMIN_API_TOKEN_ACTOR = "admin-api-token";

/** Who makes an administrative change: an admin's user id or {@link ADMIN_API_TOKEN_ACTOR}, and from where. */
export interface Actor extends ClientInfo {
  id: string;
}

/**
 * The network a client's address stands for: an IPv4 address as is, an IPv6 address as its /64
 * (one subscriber gets a whole /64, so counting single addresses would hand out endless fresh
 * buckets). IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function networkOf(ip: string | null): string {
  if (!ip) return "unknown";
  if (!ip.includes(":")) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(ip);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : ip.toLowerCase();
}

/** The eight 16-bit groups of an IPv6 address (no zone, no embedded IPv4 beyond the mapped form), or undefined. */
function expandIpv6(ip: string): string[] | undefined {
  const address = ip.toLowerCase().split("%")[0]!;
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part ? part.split(":") : []);
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return groups.map((group) => group.replace(/^0+(?=.)/, ""));
}
