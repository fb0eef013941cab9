// A tiny sequential test runner: the e2e checks share one running system and build on each other
// (a session made by one check is revoked by a later one), so they run in order, one at a time.

/** @type {{ name: string, fn: () => Promise<void> }[]} */
const tests = [];

/** @param {string} name @param {() => Promise<void>} fn */
export function test(name, fn) {
  tests.push({ name, fn });
}

/** Runs every registered test; prints one line each and the closing `N passed, N failed`. */
export async function runTests() {
  let passed = 0;
  let failed = 0;
  for (const { name, fn } of tests.splice(0)) {
    const started = Date.now();
    try {
      await fn();
      passed++;
      console.log(`  ok  ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      console.log(`  FAIL ${name} (${Date.now() - started} ms)\n       ${String(err instanceof Error ? err.stack ?? err.message : err).replace(/\n/g, "\n       ")}`);
    }
  }
  return { passed, failed };
}
