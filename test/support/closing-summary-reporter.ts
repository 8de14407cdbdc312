import type { Reporter, TestModule, TestRunEndReason, Vitest } from "vitest/node";

/**
 * Closes the output with one plain line, `tests: N passed, N failed, N skipped`, the language-neutral
 * summary that CI reads (vitest's own summary is not one it knows), and fails the run when any test
 * was skipped or left as a todo: a skipped test hides a gap that a green summary would not show
 * (issue 15: no skipped tests). A test file that failed to load, or an unhandled error, counts as a failure.
 * Tests left out by a name filter (`-t`) are counted as skipped but fail nothing: the run was asked for fewer.
 */
export default class ClosingSummaryReporter implements Reporter {
  private filteredByName = false;

  onInit(vitest: Vitest): void {
    this.filteredByName = Boolean(vitest.config.testNamePattern);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>, reason: TestRunEndReason): void {
    // An unhandled error fails the run even when every test passed, so it counts as a failure.
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    const skipped: string[] = [];
    for (const testModule of testModules) {
      if (testModule.state() === "failed" && testModule.errors().length > 0) counts.failed += 1;
      for (const testCase of testModule.children.allTests()) {
        const state = testCase.result().state;
        if (state === "passed") counts.passed += 1;
        else if (state === "failed") counts.failed += 1;
        else if (state === "skipped") {
          counts.skipped += 1;
          skipped.push(`${testModule.moduleId}: ${testCase.fullName}`);
        }
      }
    }
    if (skipped.length > 0 && !this.filteredByName) {
      console.error(`\n${skipped.length} skipped or todo test(s); none may hide:\n  ${skipped.join("\n  ")}`);
      process.exitCode = 1;
    }
    if (reason === "failed" && counts.failed === 0) counts.failed = 1;
    console.log(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  }
}
