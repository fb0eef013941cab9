/** The verifier's behaviour in plain Node; verifier.workers.test.ts runs the same suites inside workerd. */
import { honoSuite } from "./suites/hono.js";
import { introspectionSuite } from "./suites/introspection.js";
import { verifySuite } from "./suites/verify.js";

verifySuite();
honoSuite();
introspectionSuite();
