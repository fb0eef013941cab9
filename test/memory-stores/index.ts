/**
 * In-memory stores with the same contract as the D1 and KV ones, for unit tests of the services
 * (beside their code) with an injected clock. Each applies, atomically, what its D1 counterpart
 * does in one statement or batch; the liveness rule is the services' own `isLive`, which
 * src/stores/d1/liveness.test.ts checks against the SQL. Test code only: never imported by src/.
 */
export * from "./storage";
export * from "./accounts";
export * from "./counters";
export * from "./links-and-keys";
