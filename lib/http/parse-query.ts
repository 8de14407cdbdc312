import type { z } from "zod";
import { formatIssues } from "../validation/format-issues.js";
import { ProblemError } from "./problem.js";

/**
 * Validates query parameters with a strict schema. A repeated parameter is refused
 * rather than silently picking one, and bracket syntax (`email[$gt]=`) is just an
 * unknown key here: query strings never become objects or operators.
 */
export function parseQuery<T extends z.ZodType>(url: URL, schema: T): z.infer<T> {
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in params) throw new ProblemError("invalidQuery", { extensions: { errors: [`${key}: given more than once`] } });
    params[key] = value;
  }
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new ProblemError("invalidQuery", { extensions: { errors: formatIssues(parsed.error.issues) } });
  return parsed.data;
}
