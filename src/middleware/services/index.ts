import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../app-env";
import { servicesFor } from "../../services";

/** Puts the services built for this env on the context (`c.get("services")`); routes call nothing else. */
export const provideServices = createMiddleware<AppEnv>(async (c, next) => {
  c.set("services", servicesFor(c.env));
  await next();
});
