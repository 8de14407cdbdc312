import type { z } from "zod";

/** Zod issues as short `path: message` lines, for problem+json `errors` and logs. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message));
}
