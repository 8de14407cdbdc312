import { z } from "zod";
import { formatIssues } from "../validation/format-issues.js";
import { ProblemError } from "./problem.js";

/** For routes that take no query parameters: any parameter is refused, by name. */
export const noQuerySchema = z.object({}).strict();

/**
 * Validates query parameters with a strict schema; every route that answers a request
 * parses its query through here (`noQuerySchema` when it takes none). An unknown parameter
 * is refused by name (`role: unknown query parameter`), a repeated one rather than silently
 * picking one, and bracket syntax (`email[$gt]=`) is just an unknown parameter named
 * `email[$gt]`: query strings never become objects or operators.
 */
export function parseQuery<T extends z.ZodType>(query: URL | URLSearchParams, schema: T): z.infer<T> {
  const searchParams = query instanceof URL ? query.searchParams : query;
  // No prototype: `__proto__` and `constructor` are parameters like any other (and refused as unknown).
  const params = Object.create(null) as Record<string, string>;
  const errors: string[] = [];
  for (const [key, value] of searchParams) {
    if (Object.hasOwn(params, key)) {
      if (!errors.includes(`${key}: given more than once`)) errors.push(`${key}: given more than once`);
      continue;
    }
    params[key] = value;
  }
  if (errors.length > 0) throw new ProblemError("invalidQuery", { extensions: { errors } });
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new ProblemError("invalidQuery", { extensions: { errors: formatQueryIssues(parsed.error.issues) } });
  return parsed.data;
}

/** Zod's `Unrecognized key: "role"` speaks of object keys; a client sent query parameters. */
function formatQueryIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys" ? issue.keys.map((key) => `${key}: unknown query parameter`) : formatIssues([issue]),
  );
}
