import { env } from "cloudflare:workers";
import { importPKCS8, SignJWT } from "jose";
import { it, expect } from "vitest";
import { call, decodePayload, me, postJson, register, uniqueEmail } from "./helpers";

it("probe", async () => {
  const u = await register();
  let t = Date.now();
  for (let i = 0; i < 3; i++) await postJson("/auth/login", { email: u.email, password: "wrong-password" });
  console.log("wrong pw ms", (Date.now() - t) / 3);
  t = Date.now();
  for (let i = 0; i < 3; i++) await postJson("/auth/login", { email: uniqueEmail(), password: "wrong-password" });
  console.log("unknown ms", (Date.now() - t) / 3);
  const big = await call("/auth/me", { headers: { Authorization: "Bearer " + "a".repeat(100_000) } });
  console.log("100k", big.status, await big.text());
  const key = (await importPKCS8(env.SIGNING_KEY!, "RS256")) as CryptoKey;
  const kid = ((await (await call("/.well-known/jwks.json")).json()) as any).keys[0].kid;
  const p = decodePayload(u.accessToken);
  const tok = await new SignJWT({ ...p, exp: 1e20, jti: crypto.randomUUID() }).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid }).sign(key);
  const r = await me(tok);
  console.log("1e20 me", r.status, await r.text());
  const lo = await call("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${tok}` } });
  console.log("1e20 logout", lo.status, await lo.text());
  const big2 = await call("/auth/me", { headers: { Authorization: "Bearer x", Cookie: "a=" + "b".repeat(200_000) } });
  console.log("200k cookie", big2.status);
  const nu = await call("/auth/me", { headers: { Authorization: "Bearer \xff\xfe.abc" } });
  console.log("latin1", nu.status, await nu.text());
});
