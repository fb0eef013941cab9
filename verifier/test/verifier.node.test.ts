/** The verifier's behaviour in plain Node (the suites also run in workerd: verifier.workers.test.ts). */
import { verifySuite } from "./suites/verify.js";

verifySuite();
