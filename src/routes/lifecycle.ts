/**
 * The account lifecycle by email (README.md, "Account emails"): email verification, password
 * reset and email change. Links carry a token to the front end, whose page posts it back here.
 */
import { Hono, type MiddlewareHandler } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env";
import { invalidRequest } from "../domain-errors";
import { requireAccessToken, requireLiveSession } from "../middleware/bearer";
import { background, boundedString, clientInfo, email, jsonBody } from "./context";

/** Anything longer than a link token is refused before hashing; the shape is checked by the service. */
const token = boundedString(1, 64);
/** Request schemas, exported for the API description (src/routes/openapi-operations.ts). */
export const TokenBody = z.object({ token });
export const ResendBody = z.object({ email: z.optional(email) });
export const ForgotPasswordBody = z.object({ email });
export const ResetPasswordBody = z.object({ token, new_password: boundedString(8, 256) });
export const ChangeEmailBody = z.object({ new_email: email, current_password: boundedString(1, 256) });

export const lifecycleRoutes = new Hono<AppEnv>();

lifecycleRoutes.post("/email/verify", jsonBody(TokenBody), async (c) => {
  await c.get("services").lifecycle.verifyEmail(c.req.valid("json").token, clientInfo(c));
  return c.body(null, 204);
});

/** With an Authorization header: a user's live session (never an API key's token). Without one: anybody. */
const liveSessionIfAuthorized: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.header("Authorization")) return next();
  await requireAccessToken(c, async () => {
    await requireLiveSession(c, next);
  });
};

// Signed in: for the caller. Without a token: for an address, always 202 (users who may not log
// in before verifying ask here; whether the address has an account does not show).
lifecycleRoutes.post("/email/verify/resend", liveSessionIfAuthorized, jsonBody(ResendBody), async (c) => {
  const { lifecycle } = c.get("services");
  const claims = c.get("claims");
  const address = c.req.valid("json").email;
  if (!claims && address === undefined) throw invalidRequest("email", "required without an access token");
  await lifecycle.resendVerification(claims ? { userId: claims.sub } : { email: address! }, clientInfo(c), background(c));
  return c.body(null, 202);
});

lifecycleRoutes.post("/password/forgot", jsonBody(ForgotPasswordBody), async (c) => {
  await c.get("services").lifecycle.forgotPassword(c.req.valid("json").email, clientInfo(c), background(c));
  return c.body(null, 202);
});

lifecycleRoutes.post("/password/reset", jsonBody(ResetPasswordBody), async (c) => {
  const { token: presented, new_password } = c.req.valid("json");
  await c.get("services").lifecycle.resetPassword({ token: presented, newPassword: new_password }, clientInfo(c), background(c));
  return c.body(null, 204);
});

lifecycleRoutes.post(
  "/email/change",
  requireAccessToken,
  requireLiveSession,
  jsonBody(ChangeEmailBody),
  async (c) => {
    const { new_email, current_password } = c.req.valid("json");
    await c.get("services").lifecycle.requestEmailChange({ userId: c.get("claims").sub, familyId: c.get("claims").sid, newEmail: new_email, currentPassword: current_password }, clientInfo(c));
    return c.body(null, 202);
  },
);

lifecycleRoutes.post("/email/change/confirm", jsonBody(TokenBody), async (c) => {
  await c.get("services").lifecycle.confirmEmailChange(c.req.valid("json").token, clientInfo(c));
  return c.body(null, 204);
});
