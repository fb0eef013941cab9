import { describe, expect, it } from "vitest";
import { networkOf } from "./client-info";

describe("networkOf: the key rate limits count a client under", () => {
  it.each([
    ["203.0.113.9", "203.0.113.9"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:ffff::", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::ffff:198.51.100.7", "198.51.100.7"],
    [null, "unknown"],
  ])("%s -> %s", (ip, network) => {
    expect(networkOf(ip)).toBe(network);
  });

  it("every address of one /64 is one network; the next /64 is another", () => {
    const networks = new Set(Array.from({ length: 15 }, (_, i) => networkOf(`2001:db8:aa:bb:${i.toString(16)}:${i}::${i}`)));
    expect([...networks]).toEqual(["2001:db8:aa:bb::/64"]);
    expect(networkOf("2001:db8:aa:bc::1")).not.toBe(networkOf("2001:db8:aa:bb::1"));
  });

  it("something that is not an address stays itself (it still counts, as one key)", () => {
    expect(networkOf("not:an:address:::")).toBe("not:an:address:::");
  });
});
