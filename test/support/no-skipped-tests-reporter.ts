import type { Reporter, TestModule } from "vitest/node";

/**
 * Fails the run when any test was skipped or left as a todo: a skipped test hides a gap that a
 * green summary would not show (issue 15: no skipped tests). Silent when there are none, so the
 * default reporter's summary still closes the output.
 */
export default class NoSkippedTestsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped = testModules.flatMap((testModule) =>
      [...testModule.children.allTests()]
        .filter((testCase) => testCase.result().state === "skipped")
        .map((testCase) => `${testModule.moduleId}: ${testCase.fullName}`),
    );
    if (skipped.length === 0) return;
    console.error(`\n${skipped.length} skipped or todo test(s); none may hide:\n  ${skipped.join("\n  ")}\n`);
    process.exitCode = 1;
  }
}
